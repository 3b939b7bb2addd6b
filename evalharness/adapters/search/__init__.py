"""Question answering by searching a fixed corpus (BrowseComp-Plus-style)."""

from evalharness.adapters.search.adapter import SearchAdapter

__all__ = ["SearchAdapter"]
