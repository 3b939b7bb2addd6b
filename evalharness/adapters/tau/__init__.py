"""Customer service with a simulated user and domain tools over a database (τ²-bench-compatible)."""

from evalharness.adapters.tau.adapter import TauAdapter

__all__ = ["TauAdapter"]
