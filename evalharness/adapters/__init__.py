from evalharness.adapters.base import (
    AdapterOptions,
    RunServices,
    TaskAdapter,
    adapter_names,
    dataset_fingerprint,
    get_adapter_class,
    register,
)

__all__ = [
    "AdapterOptions",
    "RunServices",
    "TaskAdapter",
    "adapter_names",
    "dataset_fingerprint",
    "get_adapter_class",
    "register",
]
