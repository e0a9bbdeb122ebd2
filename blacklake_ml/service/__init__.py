"""The repository service: composes storage and catalog into versioning operations."""
