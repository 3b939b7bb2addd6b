from evalharness.adapters.base import (
    AdapterOptions,
    TaskAdapter,
    adapter_names,
    dataset_fingerprint,
    get_adapter_class,
    register,
)

__all__ = [
    "AdapterOptions",
    "TaskAdapter",
    "adapter_names",
    "dataset_fingerprint",
    "get_adapter_class",
    "register",
]
