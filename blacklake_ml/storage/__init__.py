"""Object storage backends, chosen by URL scheme from a registry third parties can extend.

``open_storage("s3://bucket/prefix")`` picks the backend: ``file://`` and plain paths use
:class:`LocalStorage`; other schemes go to :class:`FsspecStorage` unless a package registers
its own class under the ``blacklake_ml.storage`` entry-point group (name = scheme).
"""

from __future__ import annotations

from typing import Any

from blacklake_ml.core.redact import redact, redact_url
from blacklake_ml.errors import MissingDependency, StorageError
from blacklake_ml.storage.base import ObjectStorage, SpoolWriter, StorageItem
from blacklake_ml.storage.local import LocalStorage

__all__ = [
    "LocalStorage",
    "ObjectStorage",
    "SpoolWriter",
    "StorageItem",
    "open_storage",
    "register_storage",
]

_REGISTRY: dict[str, Any] = {}
#: Schemes whose fsspec implementation lives in an optional package: scheme -> (module, extra)
_EXTRAS = {"s3": ("s3fs", "s3"), "s3a": ("s3fs", "s3"), "gs": ("gcsfs", "gcs"),
           "gcs": ("gcsfs", "gcs"), "az": ("adlfs", "azure"), "abfs": ("adlfs", "azure"),
           "abfss": ("adlfs", "azure")}


def register_storage(scheme: str, factory: Any) -> None:
    """Register ``factory(url, **options) -> ObjectStorage`` for URLs of ``scheme``."""
    _REGISTRY[scheme] = factory


def _entry_point(scheme: str) -> Any | None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="blacklake_ml.storage"):
        if ep.name == scheme:
            return ep.load()
    return None


def open_storage(url: str, **options: Any) -> ObjectStorage:
    """Open the storage at ``url`` (a path, ``file://``, ``s3://``, ``gs://``, ``memory://``…)."""
    scheme = url.split("://", 1)[0] if "://" in url else "file"
    if scheme == "file":
        return LocalStorage.from_url(url, **options)
    factory = _REGISTRY.get(scheme) or _entry_point(scheme)
    if factory is not None:
        return factory.from_url(url, **options) if hasattr(factory, "from_url") else factory(
            url, **options)
    if scheme in _EXTRAS:
        module, extra = _EXTRAS[scheme]
        try:
            __import__(module)
        except ImportError:
            raise MissingDependency(f"storage {scheme}://", extra) from None
    from blacklake_ml.storage.fsspec_storage import FsspecStorage

    try:
        return FsspecStorage(url, **options)
    except (ValueError, ImportError) as exc:
        # Not chained: the vendor error's text (and so any traceback logged) may hold the
        # URL's credentials; the redacted message says what failed.
        raise StorageError(f"cannot open storage {redact_url(url)!r}: {redact(str(exc))}"
                           ) from None
