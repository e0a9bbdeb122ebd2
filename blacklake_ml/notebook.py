"""Notebook helpers: progress bars for long operations (extra ``notebook``).

Every long operation takes ``progress=`` (a :class:`blacklake_ml.Progress`); in a notebook
pass :func:`progress` to see a ``tqdm.auto`` bar (a widget bar in Jupyter, text elsewhere)::

    from blacklake_ml.notebook import progress
    repo.put("checkpoints/", "ckpt", message="epoch 3", progress=progress())
    repo.get("main", "ckpt/model.safetensors", "model.safetensors", progress=progress())
"""

from __future__ import annotations

import threading
from typing import Any

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
