"""evalharness: evaluate LLM checkpoints on agentic benchmarks, per domain, with honest error bars."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("evalharness")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
