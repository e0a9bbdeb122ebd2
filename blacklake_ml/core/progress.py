"""Progress reporting as an injectable callback (the fsspec/dvc-data idea).

Long operations take a ``progress`` argument implementing :class:`Progress`. The default
does nothing; the CLI passes a rich-based one and notebooks a tqdm-based one, so no UI library
is imported below the edges.
"""

from __future__ import annotations


class Progress:
    """Receives progress of one operation. Subclass and override what you need."""

    def start(self, total: int | None, unit: str = "B", description: str = "") -> None:
        """A phase begins; ``total`` is in ``unit`` (None when unknown)."""

    def advance(self, amount: int) -> None:
        """``amount`` more units are done."""

    def finish(self) -> None:
        """The phase ended (successfully or not)."""


class NullProgress(Progress):
    """Reports nothing."""


NULL_PROGRESS = NullProgress()

