"""Printing results: one JSON document, or human lines/tables; notes go to stderr."""

from __future__ import annotations

import json
import re
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from blacklake_ml.cli.state import CliState

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    """``text`` with control characters escaped.

    Names and paths come from users and stored data; a newline or escape sequence in one
    must not forge extra output lines or drive the terminal.
    """
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def print_json(doc: Any) -> None:
    """Print ``doc`` as one JSON document on stdout."""
    click.echo(json.dumps(doc, indent=2, default=str))


def emit(state: CliState, doc: Any, lines: Iterable[str | Sequence[str]] = ()) -> None:
    """Print the result of a command: ``doc`` with ``--json``, else ``lines``.

    A line is a string, or a sequence of fields printed tab-separated; either way every
    value is escaped with :func:`printable`, so only our own tabs separate fields.
    """
    if state.json:
        print_json(doc)
        return
    for line in lines:
        fields = [line] if isinstance(line, str) else line
        click.echo("\t".join(printable(f) for f in fields))


def note(state: CliState, text: str) -> None:
    """An informational line on stderr (suppressed by ``--quiet`` and ``--json``)."""
    if not state.quiet and not state.json:
        click.echo(printable(text), err=True)


@contextmanager
def model_warnings() -> Iterator[None]:
    """Print each deprecated-model warning raised inside as one line on stderr.

    ``blacklake: warning: ...`` after the command succeeded (also with ``--json`` and
    ``--quiet``: stdout stays one document, and a deprecation must not go unnoticed); any
    other warning is passed on unchanged.
    """
    from blacklake_ml.errors import DeprecatedModelWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecatedModelWarning)
        yield
    shown: set[str] = set()
    for w in caught:
        if issubclass(w.category, DeprecatedModelWarning):
            text = str(w.message)
            if text not in shown:
                shown.add(text)
                click.echo(f"blacklake: warning: {printable(text)}", err=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Rows as a rich table on a terminal, else as tab-separated lines (no header)."""
    if not sys.stdout.isatty():
        for row in rows:
            click.echo("\t".join(printable(c) for c in row))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    tbl = Table(box=None, pad_edge=False, header_style="bold")
    for header in headers:
        tbl.add_column(header, justify="right" if header == "size" else "left")
    for row in rows:
        # Text(), not str: stored names must not be parsed as rich markup.
        tbl.add_row(*(Text(printable(c)) for c in row))
    Console().print(tbl)


def human_size(n: float | None) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def key_values(doc: dict[str, Any]) -> list[str]:
    """``key: value`` lines for a flat dict; ``*_bytes`` values also in human units."""
    out = []
    for key, value in doc.items():
        if key.endswith("bytes") and isinstance(value, int):
            out.append(f"{key}: {value} ({human_size(value)})")
        else:
            out.append(f"{key}: {value}")
    return out
