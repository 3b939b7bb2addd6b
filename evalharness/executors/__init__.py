"""Where samples run: in this process (``local``) or on a Ray cluster (``ray``).

The runner decides what runs and records every result; an executor only decides where a sample runs and
hands its result back. ``ray_executor`` is imported only when a run asks for it, so Ray stays optional.
"""

from evalharness.executors.base import Dispatch, Executor
from evalharness.executors.local import LocalExecutor

__all__ = ["Dispatch", "Executor", "LocalExecutor"]
