"""``RepoBrowser``: repositories, refs and the files of a commit, in a notebook."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any

import traitlets

from blacklake_ml.core.names import normalize_path
from blacklake_ml.core.progress import Progress
from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput, PathNotFound
from blacklake_ml.widgets._base import StoreWidget, esm, store_command, text


class RepoBrowser(StoreWidget):
    """Pick a repository and a branch, tag or alias; walk its folders; select a file.

    ``browser.value`` is the selected file's URI (``blacklake://repo/ref/path``)::

        browser = RepoBrowser("demo-classifier", store=store)
        browser                      # shows it
        browser.browse(path="sub/dir")  # or click a folder
        uri = browser.value          # after clicking a file
        path = browser.download()    # a local copy of it (with a progress bar)
    """

    _esm = esm("repo_browser.js")

    #: ``[{"name", "description"}]`` of every repository
    repos = traitlets.List(traitlets.Dict()).tag(sync=True)
    repo = traitlets.Unicode("").tag(sync=True)
    ref = traitlets.Unicode("main").tag(sync=True)
    #: folder shown ('' = the root)
    path = traitlets.Unicode("").tag(sync=True)
    #: ``{"branches": [...], "tags": [...], "aliases": [...]}`` of ``repo`` (names)
    refs = traitlets.Dict().tag(sync=True)
    #: entries of ``path``: ``{"name", "path", "kind", "size", "id", "meta"}``, folders first
    entries = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: entries left out beyond ``max_entries``
    hidden = traitlets.Int(0).tag(sync=True)
    max_entries = traitlets.Int(500).tag(sync=True)

    def __init__(self, repo: str | None = None, ref: str = "main", path: str = "", *,
                 uri: str | None = None, store: Any = None, **kwargs: Any) -> None:
        super().__init__(store=store, **kwargs)
        if uri is not None:
            u = BlacklakeURI.parse(uri)
            repo, ref, path = u.repo, u.ref, u.path
        self.refresh(repo=repo, ref=ref, path=path)

    @property
    def uri(self) -> str:
        """URI of the folder shown."""
        return str(BlacklakeURI(self.repo, self.ref, self.path)) if self.repo else ""

    # -- Python API (the commands call these) ---------------------------------------------
    def refresh(self, repo: str | None = None, ref: str | None = None,
                path: str | None = None) -> None:
        """Reload the repository list, then show ``repo``/``ref``/``path`` (default: what
        is shown now; the first repository if none)."""
        rows = self.store.list_repos()
        self.repos = [{"name": r.name, "description": r.description} for r in rows]
        names = [r.name for r in rows]
        target = repo or self.repo
        if target not in names:
            if repo:  # asked for by name: say it is missing
                self.store.repo(repo)
            target = names[0] if names else ""
        if not target:
            self.repo, self.refs, self.entries, self.hidden = "", {}, [], 0
            return
        self._show(target, ref, path, reload_refs=True)

    def browse(self, repo: str | None = None, ref: str | None = None,
               path: str | None = None) -> list[dict[str, Any]]:
        """Show folder ``path`` of ``repo`` at ``ref`` (each defaults to what is shown; a
        new repository starts at ``main``'s root); returns the entries. A file path shows
        its folder and selects the file."""
        return self._show(repo, ref, path, reload_refs=False)

    def _show(self, repo: str | None, ref: str | None, path: str | None, *,
              reload_refs: bool) -> list[dict[str, Any]]:
        repo_name = repo or self.repo
        handle = self.store.repo(repo_name)
        if reload_refs or repo_name != self.repo:
            self.refs = {"branches": [r.name for r in handle.branches()],
                         "tags": [r.name for r in handle.tags()],
                         "aliases": [r.name for r in handle.lifecycle.aliases()]}
        if repo is not None and repo != self.repo and ref is None:
            ref = "main" if "main" in self.refs.get("branches", []) else \
                next(iter(self.refs.get("branches", [])), "main")
            path = path or ""
        ref_name = ref or self.ref or "main"
        folder = normalize_path(self.path if path is None else path)
        try:
            entries = handle.ls(ref_name, folder)
        except PathNotFound:
            if path is not None or not folder:
                raise
            folder = ""  # the folder shown does not exist at the new ref: show the root
            entries = handle.ls(ref_name, folder)
        select = ""
        if len(entries) == 1 and entries[0]["kind"] == "file" and entries[0]["path"] == folder \
                and folder:
            select = str(BlacklakeURI(repo_name, ref_name, folder))
            folder = posixpath.dirname(folder)
            entries = handle.ls(ref_name, folder)
        entries.sort(key=lambda e: (e["kind"] != "dir", e["path"]))
        shown = [{**e, "name": posixpath.basename(e["path"])}
                 for e in entries[:self.max_entries]]
        with self.hold_sync():
            self.repo, self.ref, self.path = repo_name, ref_name, folder
            self.entries = shown
            self.hidden = max(0, len(entries) - len(shown))
            if select:
                self.selected = select
        return shown

    def select(self, path: str) -> str:
        """Select the file ``path`` (a folder is opened instead); returns the selected URI."""
        path = normalize_path(path)
        entry = self.store.repo(self.repo).entry(self.ref, path)
        if entry.is_dir:
            self.browse(path=path)
            return self.selected
        self.selected = str(BlacklakeURI(self.repo, self.ref, path))
        return self.selected

    def download(self, out: str | os.PathLike[str] = ".", *,
                 progress: Progress | None = None) -> Path:
        """Copy the selected file into directory ``out`` (or to the file path ``out``) with
        a ``tqdm.auto`` progress bar; returns the local path."""
        if not self.selected:
            raise InvalidInput("select a file first")
        u = BlacklakeURI.parse(self.selected)
        dest = Path(out)
        if dest.is_dir():
            dest = dest / posixpath.basename(u.path)
        if progress is None:
            from blacklake_ml.notebook import progress as tqdm_progress

            progress = tqdm_progress()
        self.store.repo(u.repo).get(u.ref, u.path, dest, progress=progress)
        return dest

    # -- commands (the browser's requests) ------------------------------------------------
    @store_command
    def cmd_refresh(self, msg: dict[str, Any]) -> None:
        self.refresh()

    @store_command
    def cmd_open(self, msg: dict[str, Any]) -> None:
        self.browse(text(msg, "repo"), text(msg, "ref"), text(msg, "path"))

    @store_command
    def cmd_select(self, msg: dict[str, Any]) -> dict[str, Any]:
        return {"uri": self.select(text(msg, "path", "") or "")}
