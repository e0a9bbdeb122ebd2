"""Test suites shipped with the package, for third-party backends (needs ``pytest``)."""

from blacklake_ml.testing.storage import StorageConformance

__all__ = ["StorageConformance"]
