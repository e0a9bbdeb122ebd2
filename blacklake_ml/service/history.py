"""Reference resolution and history walks over the commit index.

Everything here reads the catalog only (refs and the commit index) for one repository,
named by a :class:`RepoRef` (its catalog id and name: a ``RepoRow``, or a ``Repo``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Protocol

from blacklake_ml.catalog import Catalog, CommitRow
from blacklake_ml.core.names import HEX_RE, REF_NAME_RE, validate_ref_name
from blacklake_ml.errors import AmbiguousRef, InvalidName, RefNotFound

MIN_PREFIX = 8


class RepoRef(Protocol):
    """A repository as the catalog knows it: its id, and its name for messages."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


def resolve(catalog: Catalog, repo: RepoRef, ref: str) -> str:
    """Commit id named by a branch, a tag, or a full/prefix (>= 8 hex) commit id."""
    if not isinstance(ref, str) or not ref:
        raise InvalidName("empty reference")
    if REF_NAME_RE.fullmatch(ref) and ref not in (".", ".."):
        row = catalog.get_ref(repo.id, ref)
        if row is not None:
            return row.commit
    else:
        raise InvalidName(f"invalid reference {ref!r}")
    if HEX_RE.fullmatch(ref):
        if len(ref) < MIN_PREFIX:
            raise RefNotFound(f"no branch or tag {ref!r} in {repo.name!r} (commit id prefixes "
                              f"need at least {MIN_PREFIX} hex characters)")
        found = catalog.find_commits(repo.id, ref, limit=5)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise AmbiguousRef(ref, found)
    raise RefNotFound(f"no branch, tag or commit {ref!r} in repository {repo.name!r}")


def branch_head(catalog: Catalog, repo: RepoRef, branch: str) -> str:
    """Commit a branch points at (tags and commit ids are not branches)."""
    validate_ref_name(branch, "branch")
    row = catalog.get_ref(repo.id, branch)
    if row is None or row.kind != "branch":
        what = "not a branch" if row is None else \
            f"{'an' if row.kind == 'alias' else 'a'} {row.kind}, not a branch"
        raise RefNotFound(f"{branch!r} is {what} of repository {repo.name!r}")
    return row.commit


def iter_history(catalog: Catalog, repo: RepoRef, head: str) -> Iterator[CommitRow]:
    """Commits reachable from ``head``, newest first (by generation, then time)."""
    rows = catalog.get_commits(repo.id, [head])
    if head not in rows:
        raise RefNotFound(f"commit {head[:12]} is not in repository {repo.name!r}")
    heap: list[tuple[int, str, str]] = []
    seen = {head}
    cache = dict(rows)

    def push(row: CommitRow) -> None:
        # max-heap on (generation, time): negate generation, invert time by sorting key
        heapq.heappush(heap, (-row.generation, _neg_time(row.time), row.id))

    push(rows[head])
    while heap:
        _, _, cid = heapq.heappop(heap)
        row = cache.pop(cid)
        yield row
        fresh = [p for p in row.parents if p not in seen]
        if fresh:
            seen.update(fresh)
            parents = catalog.get_commits(repo.id, fresh)
            for p in fresh:
                if p in parents:
                    cache[p] = parents[p]
                    push(parents[p])


def _neg_time(t: str) -> str:
    # ISO timestamps sort lexically; map each digit d -> 9-d so the heap pops newest first.
    return t.translate(_INVERT)


_INVERT = str.maketrans("0123456789", "9876543210")


def is_ancestor(catalog: Catalog, repo: RepoRef, maybe_ancestor: str, of: str) -> bool:
    """True if ``maybe_ancestor`` is reachable from ``of`` (or equal)."""
    if maybe_ancestor == of:
        return True
    rows = catalog.get_commits(repo.id, [maybe_ancestor])
    target = rows.get(maybe_ancestor)
    if target is None:
        return False
    for row in iter_history(catalog, repo, of):
        if row.id == maybe_ancestor:
            return True
        if row.generation < target.generation:
            return False
    return False


def merge_base(catalog: Catalog, repo: RepoRef, a: str, b: str) -> str | None:
    """A best common ancestor of ``a`` and ``b`` (None if unrelated)."""
    ancestors_a = {row.id for row in iter_history(catalog, repo, a)}
    for row in iter_history(catalog, repo, b):
        if row.id in ancestors_a:
            return row.id
    return None
