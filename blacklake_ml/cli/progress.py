"""A rich progress bar on stderr implementing :class:`blacklake_ml.core.progress.Progress`."""

from __future__ import annotations

import threading
from typing import Any

from blacklake_ml.core.progress import Progress


class RichProgress(Progress):
    """Shows each phase (``start`` .. ``finish``) as a transient bar on stderr.

    Byte phases show transferred size, speed and time left; other units a count. ``advance``
    may be called from worker threads (get/checkout write files in a pool).
    """

    def __init__(self, console: Any = None) -> None:
        self._console = console
        self._bar: Any = None
        self._task: Any = None
        self._lock = threading.Lock()

    def start(self, total: int | None, unit: str = "B", description: str = "") -> None:
        """Begin a phase (ending one still open)."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as _Bar

        self.finish()
        if unit == "B":
            columns: list[Any] = [TextColumn("{task.description}"), BarColumn(),
                                  DownloadColumn(), TransferSpeedColumn(),
                                  TimeRemainingColumn()]
        else:
            columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn(unit), TimeElapsedColumn()]
        console = self._console or Console(stderr=True)
        bar = _Bar(*columns, console=console, transient=True)
        with self._lock:
            self._task = bar.add_task(description, total=total)
            self._bar = bar
        bar.start()

    def advance(self, amount: int) -> None:
        """``amount`` more units done (thread-safe)."""
        with self._lock:
            bar, task = self._bar, self._task
        if bar is not None:
            bar.advance(task, amount)

    def finish(self) -> None:
        """End the current phase and clear its bar."""
        with self._lock:
            bar, self._bar = self._bar, None
        if bar is not None:
            bar.stop()
