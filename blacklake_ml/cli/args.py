"""Parsing of command-line values: URIs, ``K=V`` metadata and merge strategies.

Everything here raises :class:`~blacklake_ml.errors.InvalidInput` subclasses, so bad values
end as one-line errors with exit code 2 before anything is read or written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from blacklake_ml.core.names import normalize_path, parse_meta_pairs
from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput, PathNotFound

STRATEGY_SIDES = ("ours", "theirs")


def parse_uri(text: str) -> BlacklakeURI:
    """A validated ``blacklake://REPO/REF/PATH``."""
    return BlacklakeURI.parse(text)


def put_destination(text: str, uri: BlacklakeURI) -> str:
    """The repository path for ``put``, keeping a trailing '/' (it means "put below")."""
    if uri.path and text.endswith("/"):
        return uri.path + "/"
    return uri.path


def parse_meta(pairs: Sequence[str]) -> dict[str, str] | None:
    """Validated metadata from repeated ``K=V`` options (None when none were given)."""
    return parse_meta_pairs(tuple(pairs)) if pairs else None


def parse_strategy(values: Sequence[str]) -> str | dict[str, str] | None:
    """Merge strategy from repeated ``--strategy`` values.

    A bare ``ours``/``theirs`` applies to every conflicting path; ``GLOB=ours|theirs`` to
    the paths matching GLOB. Mixed, the globs are tried first and the bare side is the
    fallback (a trailing ``*`` pattern, which matches any path).
    """
    if not values:
        return None
    everywhere: set[str] = set()
    per_path: dict[str, str] = {}
    for value in values:
        glob, sep, side = value.rpartition("=")
        if side not in STRATEGY_SIDES:
            raise InvalidInput(f"invalid --strategy {value!r}: use ours, theirs or "
                               "GLOB=ours|theirs")
        if not sep:
            everywhere.add(side)
        elif not glob:
            raise InvalidInput(f"invalid --strategy {value!r}: empty path pattern")
        else:
            per_path[glob] = side
    if len(everywhere) > 1:
        raise InvalidInput("--strategy ours and --strategy theirs contradict each other")
    if not per_path:
        return everywhere.pop()
    if everywhere:
        per_path["*"] = everywhere.pop()
    return per_path


def single_path(uri_path: str, option_path: str | None) -> str | None:
    """The path a command is restricted to, from the URI or ``--path`` (not two different)."""
    if option_path is None:
        return uri_path or None
    opt = normalize_path(option_path)
    if uri_path and opt != uri_path:
        raise InvalidInput(f"the URI names path {uri_path!r} and --path names {opt!r}: "
                           "give one")
    return opt


@contextmanager
def at_ref(src: BlacklakeURI, commit: str) -> Iterator[None]:
    """Commands read one pinned commit (the branch may move meanwhile); a path missing
    there is reported at the ref the user wrote, with the commit it was read at."""
    try:
        yield
    except PathNotFound:
        if commit.startswith(src.ref):
            raise
        raise PathNotFound(f"no such path at {src.ref} (commit {commit[:12]}): "
                           f"{src.path or '/'}") from None
