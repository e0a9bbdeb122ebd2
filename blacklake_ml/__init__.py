"""BlackLake ML: git-style, chunk-deduplicated versioning of ML models and datasets.

>>> import blacklake_ml as bl
>>> store = bl.Store.open()                      # ~/.blacklake, or BLACKLAKE_* settings
>>> repo = store.create_repo("resnet")
>>> repo.put("model.pt", "model.pt", message="first checkpoint")
>>> with bl.open("blacklake://resnet/main/model.pt") as f: ...
"""

from __future__ import annotations

from typing import Any

from blacklake_ml.core.progress import NullProgress, Progress
from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.core.version import __version__
from blacklake_ml.errors import BlacklakeError, DeprecatedModelWarning

__all__ = [
    "BlacklakeError",
    "BlacklakeURI",
    "DeprecatedModelWarning",
    "NullProgress",
    "Progress",
    "Repo",
    "Store",
    "__version__",
    "open",
]


def __getattr__(name: str) -> Any:
    # Lazy: `import blacklake_ml` stays cheap (no SQLAlchemy) until a store is used.
    if name == "Store":
        from blacklake_ml.api import Store

        return Store
    if name == "Repo":
        from blacklake_ml.service.repo import Repo

        return Repo
    raise AttributeError(name)


def open(uri: str, mode: str = "rb", *, store: Any = None) -> Any:
    """Open the file a ``blacklake://repo/ref/path`` URI names, for reading (binary).

    Uses ``store`` or the default store from configuration.
    """
    if mode not in ("rb", "r"):
        raise ValueError("blacklake_ml.open is read-only: use mode 'rb' or 'r'")
    from blacklake_ml.api import Store

    st = store or Store.open()
    reader = st.open_uri(uri)
    if mode == "r":
        import io

        return io.TextIOWrapper(io.BufferedReader(reader), encoding="utf-8")
    return io_buffered(reader)


def io_buffered(reader: Any) -> Any:
    """Wrap a raw reader in a buffered one (what ``open`` returns)."""
    import io

    return io.BufferedReader(reader, buffer_size=1 << 20)
