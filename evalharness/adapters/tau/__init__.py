"""τ²-bench-style customer-service tasks."""
