"""Where model-written code runs: Docker containers (isolated), or local subprocesses (fallback)."""
