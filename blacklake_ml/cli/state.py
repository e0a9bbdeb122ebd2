"""Per-invocation state shared by every command: global options, the store, progress."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from blacklake_ml.api import Store
    from blacklake_ml.core.progress import Progress


@dataclass
class CliState:
    """Global options of one ``blacklake`` run, and the store it opened (lazily)."""

    home: str | None = None
    storage: str | None = None
    catalog: str | None = None
    quiet: bool = False
    #: set by a command's ``--json`` flag: stdout then carries exactly one JSON document
    json: bool = False
    _store: Any = field(default=None, repr=False)

    def store(self) -> Store:
        """The configured store, opened (and created on first use) on the first call."""
        if self._store is None:
            # Imported here: the service layer pulls in SQLAlchemy, which --help must not pay.
            from blacklake_ml.api import Store

            self._store = Store.open(self.home, storage=self.storage, catalog=self.catalog)
        return self._store

    def close(self) -> None:
        """Close the store if one was opened."""
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def progress(self) -> Progress:
        """A terminal progress bar on stderr, or a no-op when it would disturb the output.

        Bars are only drawn for people: not with ``--json`` or ``--quiet``, and not when
        stderr is redirected (logs and CI must not fill with carriage returns).
        """
        from blacklake_ml.core.progress import NULL_PROGRESS

        if self.json or self.quiet or not _isatty(sys.stderr):
            return NULL_PROGRESS
        from blacklake_ml.cli.progress import RichProgress

        return RichProgress()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def stdin_is_tty() -> bool:
    """True when a person can answer a prompt (stdin is a terminal)."""
    return _isatty(sys.stdin)


#: Decorator passing the :class:`CliState` as the first argument of a command.
pass_state = click.make_pass_decorator(CliState, ensure=True)


def json_option(func: Any) -> Any:
    """Add ``--json``: print one JSON document on stdout instead of human output."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.ensure_object(CliState).json = True
        return value

    return click.option("--json", "as_json", is_flag=True, expose_value=False,
                        callback=remember,
                        help="Print exactly one JSON document on stdout.")(func)
