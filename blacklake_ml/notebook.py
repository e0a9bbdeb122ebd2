"""Notebook helpers: progress bars for long operations (extra ``notebook``) and
:class:`Session`, which records a notebook's reads and writes as lineage.

Every long operation takes ``progress=`` (a :class:`blacklake_ml.Progress`); in a notebook
pass :func:`progress` to see a ``tqdm.auto`` bar (a widget bar in Jupyter, text elsewhere)::

    from blacklake_ml.notebook import progress
    repo.put("checkpoints/", "ckpt", message="epoch 3", progress=progress())
    repo.get("main", "ckpt/model.safetensors", "model.safetensors", progress=progress())
"""

from __future__ import annotations

import threading
from typing import Any

from typing_extensions import Self

from blacklake_ml.core.progress import NULL_PROGRESS, Progress
from blacklake_ml.errors import MissingDependency


class TqdmProgress(Progress):
    """Shows each phase (``start`` .. ``finish``) as a ``tqdm.auto`` bar.

    Byte phases are shown in KiB/MiB/GiB with a rate; ``advance`` may be called from worker
    threads. ``tqdm_kwargs`` go to every bar (e.g. ``leave=True`` keeps finished bars).
    """

    def __init__(self, **tqdm_kwargs: Any) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise MissingDependency("progress bars in notebooks", "notebook") from None
        self._tqdm = tqdm
        self._kwargs = {"leave": False, **tqdm_kwargs}
        self._bar: Any = None
        self._lock = threading.Lock()

    def start(self, total: int | None, unit: str = "B", description: str = "") -> None:
        """Begin a phase (closing one still open)."""
        self.finish()
        opts: dict[str, Any] = {"total": total, "desc": description, "unit": unit}
        if unit == "B":
            opts.update(unit_scale=True, unit_divisor=1024)
        bar = self._tqdm(**{**opts, **self._kwargs})
        with self._lock:
            self._bar = bar

    def advance(self, amount: int) -> None:
        """``amount`` more units done (thread-safe)."""
        with self._lock:
            if self._bar is not None:
                self._bar.update(amount)

    def finish(self) -> None:
        """Close the current bar."""
        with self._lock:
            bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()


def progress(**tqdm_kwargs: Any) -> Progress:
    """A :class:`TqdmProgress`, or a silent one when ``tqdm`` is not installed."""
    try:
        return TqdmProgress(**tqdm_kwargs)
    except MissingDependency:
        return NULL_PROGRESS


class Session:
    """A notebook session as a lineage run: what it read and what it wrote.

    ``with Session(store, "feature exploration") as s:`` records a run node
    ``run:notebook:<id>`` (system ``notebook``, type ``session``; the notebook's path when
    Jupyter tells the kernel, ``JPY_SESSION_NAME``) and every URI that goes through it::

        with Session(store, "fit iris") as s:
            df = pd.read_csv(s.open("blacklake://iris-data/main/iris.csv"))  # consumed
            ...
            s.put("model.onnx", "blacklake://iris/main/model.onnx", message="fit")  # produced

    Each read or write is recorded at once (pinned to the commit it resolved to), so a kernel
    that dies mid-session keeps what happened before. Reads through other APIs are not seen;
    name them with :meth:`used` / :meth:`produced`.
    """

    def __init__(self, store: Any, name: str | None = None, *, session_id: str | None = None
                 ) -> None:
        import os
        import time
        import uuid

        self.store = store
        self.id = session_id or uuid.uuid4().hex
        facets: dict[str, Any] = {"start_time": time.time()}
        notebook = os.environ.get("JPY_SESSION_NAME")
        if notebook:
            facets["notebook"] = notebook
        label = name or (os.path.basename(notebook) if notebook else f"notebook {self.id[:8]}")
        facets["job"] = name or notebook or "notebook"
        self.node = store.lineage.run("notebook", self.id, name=label, type="session",
                                      facets=facets)
        store.lineage.record_run(self.node)

    @property
    def key(self) -> str:
        """The run node's key (``blacklake lineage <key>``)."""
        return str(self.node.key)

    def used(self, uri: str) -> str:
        """Record ``uri`` (a ``blacklake://`` URI or an external one) as read; returns the
        ``blacklake://`` URI pinned to its commit (read from that to get what was recorded)."""
        node = self.store.lineage.node(uri)
        self.store.lineage.record_run(self.node, inputs=[node])
        return str(node.uri or uri)

    def produced(self, uri: str) -> str:
        """Record ``uri`` as written by this session; returns it pinned."""
        node = self.store.lineage.node(uri)
        self.store.lineage.record_run(self.node, outputs=[node])
        return str(node.uri or uri)

    def open(self, uri: str) -> Any:
        """A read-only file object for the ``blacklake://`` file ``uri``, recorded as read."""
        return self.store.open_uri(self.used(uri))

    def put(self, local: str, uri: str, *, message: str, **kwargs: Any) -> Any:
        """Put a local file or folder at ``uri`` (``blacklake://repo/branch/path``) as one
        commit, recorded as written; returns the commit result."""
        from blacklake_ml.core.uri import BlacklakeURI

        u = BlacklakeURI.parse(uri)
        res = self.store.repo(u.repo).put(local, u.path, branch=u.ref, message=message,
                                          **kwargs)
        self.produced(str(BlacklakeURI(u.repo, res.commit, u.path)))
        return res

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        import time

        self.store.lineage.record_run(self.store.lineage.run(
            "notebook", self.id, name=self.node.label, type="session",
            facets={"end_time": time.time()}))
