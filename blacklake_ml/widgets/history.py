"""``CommitHistory``: the commits of a ref, and what changed between any two."""

from __future__ import annotations

from typing import Any

import traitlets

from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput
from blacklake_ml.shapes import commit_json
from blacklake_ml.widgets._base import StoreWidget, esm, number, store_command, text

MAX_LIMIT = 1000


class CommitHistory(StoreWidget):
    """The log of ``repo`` at ``ref`` (optionally only commits touching ``path``), newest
    first. Selecting a commit shows what it changed; shift-selecting a second one compares
    the two. ``history.value`` is the selected commit's URI (``blacklake://repo/<id>``)::

        history = CommitHistory("demo-classifier", "main", store=store)
        history.compare("v1.0", "finetune-de")   # any two refs or commit ids
    """

    _esm = esm("commit_history.js")

    repo = traitlets.Unicode("").tag(sync=True)
    ref = traitlets.Unicode("main").tag(sync=True)
    #: only commits touching this path ('' = all)
    path = traitlets.Unicode("").tag(sync=True)
    limit = traitlets.Int(50).tag(sync=True)
    #: ``blacklake log --json`` rows: ``{"id", "parents", "author", "time", "message", "meta",
    #: "size", "files"}``
    commits = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: the comparison shown: ``{"a", "b", "added", "removed", "modified"}`` ({} = none)
    diff = traitlets.Dict().tag(sync=True)

    def __init__(self, repo: str | None = None, ref: str = "main", *, path: str = "",
                 uri: str | None = None, limit: int = 50, store: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(store=store, **kwargs)
        if uri is not None:
            u = BlacklakeURI.parse(uri)
            repo, ref, path = u.repo, u.ref, u.path
        if repo is None:
            repos = self.store.list_repos()
            if not repos:
                raise InvalidInput("the store has no repositories yet")
            repo = repos[0].name
        self.load(repo, ref, path=path, limit=limit)

    # -- Python API -----------------------------------------------------------------------
    def load(self, repo: str | None = None, ref: str | None = None, *,
             path: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Show the log of ``repo`` at ``ref`` (each defaults to what is shown)."""
        repo_name = repo or self.repo
        ref_name = ref or self.ref
        path = self.path if path is None else path
        limit = self.limit if limit is None else limit
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be from 1 to {MAX_LIMIT}")
        rows = self.store.repo(repo_name).log(ref_name, path=path or None, limit=limit)
        with self.hold_sync():
            self.repo, self.ref, self.path, self.limit = repo_name, ref_name, path, limit
            self.commits = [dict(commit_json(r)) for r in rows]
            self.diff = {}
            self.selected = ""
        return self.commits

    def select(self, commit: str) -> dict[str, Any]:
        """Select ``commit`` (id, prefix or ref) and show what it changed against its first
        parent; returns that diff."""
        handle = self.store.repo(self.repo)
        row = handle.log(commit, limit=1)[0]
        cid, parents = row.id, row.parents
        diff = self._diff(parents[0] if parents else None, cid)
        with self.hold_sync():
            self.diff = diff
            self.selected = str(BlacklakeURI(self.repo, cid))
        return diff

    def compare(self, a: str, b: str) -> dict[str, Any]:
        """Show what changed from ``a`` to ``b`` (refs or commit ids); returns the diff."""
        handle = self.store.repo(self.repo)
        diff = self._diff(handle.resolve(a), handle.resolve(b))
        self.diff = diff
        return diff

    def _diff(self, a: str | None, b: str) -> dict[str, Any]:
        handle = self.store.repo(self.repo)
        if a is None:  # the first commit: everything was added
            files = handle.ls(b, recursive=True)
            return {"a": None, "b": b, "added": files, "removed": [], "modified": []}
        return {"a": a, "b": b, **handle.diff(a, b).to_json()}

    # -- commands -------------------------------------------------------------------------
    @store_command
    def cmd_load(self, msg: dict[str, Any]) -> None:
        self.load(text(msg, "repo"), text(msg, "ref"), path=text(msg, "path"),
                  limit=number(msg, "limit", self.limit, 1, MAX_LIMIT))

    @store_command
    def cmd_select(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.select(text(msg, "commit", "") or "")
        return {"uri": self.selected}

    @store_command
    def cmd_compare(self, msg: dict[str, Any]) -> None:
        self.compare(text(msg, "a", "") or "", text(msg, "b", "") or "")
