"""Import a DVC project's history: one BlackLake commit per git commit that changed data.

For every commit of the git branch's first-parent history (oldest first) that changed a
``.dvc`` file or a ``dvc.lock``, the BlackLake branch of the same name gets one commit whose
files are the DVC-tracked outputs at that commit, at their project paths (files and the
contents of tracked directories; git-tracked files stay in git). Data is read through
``dvc.api.DVCFileSystem(project, rev=sha)`` — the project's cache, else its default remote (the
one configured in the work tree now, so old commits that predate it still find their data) —
and its MD5 checked against the ``.dvc``/``dvc.lock`` record (DVC 2's ``md5-dos2unix``
records too); files in the local cache are ingested straight from it. A project in a
subdirectory of the git repository (``dvc init --subdir``) is read as a subrepo of the top
level. All data of a commit is gathered before anything is committed:
missing data raises :class:`~blacklake_ml.errors.PathNotFound` naming the file and the git
commit, and nothing of that commit lands (earlier commits stay imported; a re-run resumes).

Each BlackLake commit keeps the git message, author and author date (as its author and time);
commit metadata also holds ``git.author_date``, ``git.commit_date``, ``git.commit`` (the sha),
``git.branch``, ``git.committer`` and ``dvc.project``. ``dvc.yaml`` stages that ran in a commit are recorded as lineage
(``stages.py``) right after the commit lands (a crash between the two leaves that commit
without its stage lineage; the data is complete either way).

Re-running imports only new commits: the newest commit of the BlackLake branch carrying
``git.commit`` marks where the last import stopped. If that git commit is no longer on the
branch's first-parent history (rebased, amended, force-pushed) the import refuses with a
:class:`~blacklake_ml.errors.ConflictError` instead of guessing.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blacklake_ml.core.names import (
    MAX_MESSAGE_CHARS,
    normalize_path,
    validate_ref_name,
    validate_repo_name,
)
from blacklake_ml.core.progress import NULL_PROGRESS, Progress
from blacklake_ml.errors import (
    ConflictError,
    CorruptObject,
    InvalidInput,
    MissingDependency,
    PathNotFound,
    RefExists,
    RepoNotFound,
    StorageError,
)
from blacklake_ml.integrations.dvc.committer import root_commit
from blacklake_ml.integrations.dvc.gitlog import Git, GitCommit
from blacklake_ml.integrations.dvc.stages import (
    LockedStage,
    changed_stages,
    locked_stages,
    record_stages,
)

if TYPE_CHECKING:
    from blacklake_ml.service.commit import Transaction
    from blacklake_ml.service.repo import Repo
    from blacklake_ml.service.store import Store

#: commit metadata key holding the imported git commit (the resume marker)
GIT_COMMIT_KEY = "git.commit"
_COPY = 1024 * 1024


@dataclass(frozen=True)
class TrackedFile:
    """A DVC-tracked file at one git commit."""

    path: str  # relative to the DVC project root, '/'-separated
    md5: str
    #: "md5" (DVC 3), or "md5-dos2unix" (DVC 2 records: text hashed with LF line ends)
    hash_name: str = "md5"


@dataclass
class ImportedCommit:
    """One git commit turned into a BlackLake commit."""

    git_commit: str
    commit: str
    message: str
    author: str
    date: str
    added: int = 0
    modified: int = 0
    deleted: int = 0
    bytes: int = 0
    stages: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``dvc import --json`` entry."""
        return {"git_commit": self.git_commit, "commit": self.commit,
                "message": self.message, "author": self.author, "date": self.date,
                "added": self.added, "modified": self.modified, "deleted": self.deleted,
                "bytes": self.bytes, "stages": list(self.stages)}


@dataclass
class ImportReport:
    """What :func:`import_project` did."""

    project: str
    repo: str
    branch: str
    imported: list[ImportedCommit] = field(default_factory=list)
    #: git commits examined that changed no .dvc file or dvc.lock
    skipped: int = 0
    #: the git commit the previous import had stopped at (None: first import)
    resumed_from: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``dvc import --json`` document."""
        return {"project": self.project, "repo": self.repo, "branch": self.branch,
                "resumed_from": self.resumed_from, "skipped": self.skipped,
                "imported": [c.to_json() for c in self.imported]}


def _require_dvc() -> None:
    try:
        import dvc.api  # noqa: F401
    except ImportError:
        raise MissingDependency("importing a DVC project", "dvc") from None


def _is_dvc_change(path: str, prefix: str) -> bool:
    if prefix and not path.startswith(prefix + "/"):
        return False
    name = posixpath.basename(path)
    in_project = path[len(prefix) + 1:] if prefix else path
    return name == "dvc.lock" or (name.endswith(".dvc") and name != ".dvc"
                                  and not in_project.startswith(".dvc/"))


class _Revision:
    """The DVC view of one git commit: which files are tracked and where their data is."""

    def __init__(self, project: Path, sha: str, remote: str | None,
                 remotes: dict[str, Any], *, toplevel: Path, prefix: str) -> None:
        from dvc.api import DVCFileSystem

        self.sha = sha
        self.project = project
        self.remote = remote
        #: where the project sits in the filesystem's paths ("" or "/<prefix>")
        self.root = f"/{prefix}" if prefix else ""
        self._top: Any = None
        if prefix:
            # A project below the git top level (`dvc init --subdir`): DVC cannot open it
            # at a revision by its own path, but reads it as a subrepo of the top level
            # (its cache is the work tree's; its remotes come from the commit's config and
            # the work tree's config.local).
            from dvc.repo import Repo as DvcRepo

            self._top = DvcRepo(str(toplevel), rev=sha, uninitialized=True, subrepos=True)
            self.fs = DVCFileSystem(repo=self._top, subrepos=True)
            return
        # DVC itself reads old commits with the work tree's default remote. All the work
        # tree's remotes are merged in too, *before* DVC validates the commit's config: an
        # old commit whose .dvc/config predates a remote would otherwise fail on the work
        # tree's config.local (auth settings for a remote that has no url at that commit).
        # Without a default remote DVC's own setup (the cache as upstream) is left alone.
        config = {"core": {"remote": remote}, "remote": remotes} if remote else None
        self.fs = DVCFileSystem(str(project), rev=sha, config=config)

    def tracked(self) -> dict[str, TrackedFile]:
        """path -> tracked file, for every DVC-tracked file of the commit."""
        from dvc_data.index.index import DataIndexDirError

        try:
            found = self.fs.find(self.root or "/", detail=True, dvc_only=True)
        except (FileNotFoundError, DataIndexDirError) as exc:
            raise PathNotFound(f"the listing of a tracked directory of git commit "
                               f"{self.sha[:12]} is in neither the DVC cache of "
                               f"{self.project} nor {self._remote_text()}: {exc} (nothing of "
                               "this commit was imported)") from None
        except Exception as exc:
            if not _from_dvc(exc):
                raise
            raise InvalidInput(f"DVC cannot read git commit {self.sha[:12]} of "
                               f"{self.project}: {exc}") from None
        out: dict[str, TrackedFile] = {}
        for name, info in found.items():
            if info.get("type") != "file":
                continue
            dvc_info = info.get("dvc_info") or {}
            path = name[len(self.root):].lstrip("/")
            hi = getattr(dvc_info.get("entry"), "hash_info", None)
            if hi is not None and hi.value and hi.name in ("md5", "md5-dos2unix"):
                out[path] = TrackedFile(path, str(hi.value), str(hi.name))
            elif dvc_info.get("md5"):
                out[path] = TrackedFile(path, str(dvc_info["md5"]))
            elif dvc_info.get("md5-dos2unix"):
                out[path] = TrackedFile(path, str(dvc_info["md5-dos2unix"]), "md5-dos2unix")
            else:
                raise InvalidInput(f"{path} at git commit {self.sha[:12]} has no MD5 in its "
                                   ".dvc/dvc.lock record (only md5-hashed data is imported)")
        return out

    def _remote_text(self) -> str:
        return f"its default remote {self.remote!r}" if self.remote else \
            "a remote (none is configured)"

    def cached(self, tracked: TrackedFile) -> str | None:
        """The local DVC cache file holding ``tracked``'s data, if present."""
        try:
            caches = self.fs.info(f"{self.root}/{tracked.path}")["repo"].cache
            cache = caches.legacy if tracked.hash_name == "md5-dos2unix" else caches.local
            path = str(cache.oid_to_path(tracked.md5))
        except Exception:  # noqa: BLE001 - no usable cache: read through the filesystem
            return None
        return path if os.path.isfile(path) else None

    def fetch(self, tracked: TrackedFile, tmp_dir: str, subject: str) -> str:
        """A local file with ``tracked``'s verified content (from the cache, else a copy
        downloaded into ``tmp_dir``)."""
        where = f"{tracked.path} (md5 {tracked.md5}) of git commit {self.sha[:12]} {subject!r}"
        from dvc_data.hashfile.hash import fobj_md5, get_hash_stream

        local = self.cached(tracked)
        if local is not None:
            with open(local, "rb") as f:
                if fobj_md5(f, name=tracked.hash_name) == tracked.md5:
                    return local
            # a damaged cache entry: let DVC read it, which fails the check below unless
            # DVC finds a good copy
        target = os.path.join(tmp_dir, hashlib.sha256(tracked.path.encode()).hexdigest())
        try:
            with self.fs.open(f"{self.root}/{tracked.path}", "rb") as src, \
                    open(target, "wb") as dst:
                # DVC's own hashing (md5, or md5-dos2unix for DVC 2 records)
                h = get_hash_stream(src, name=tracked.hash_name)
                while piece := h.read(_COPY):
                    dst.write(piece)
        except FileNotFoundError:
            raise PathNotFound(f"the data of {where} is in neither the DVC cache of "
                               f"{self.project} nor {self._remote_text()}; run `dvc push` "
                               "where it exists (nothing of this commit was imported)"
                               ) from None
        except OSError as exc:
            raise StorageError(f"reading {where}: {exc}") from None
        except Exception as exc:
            if not _from_dvc(exc):
                raise
            raise StorageError(f"reading {where} failed: {exc}") from None
        if h.hash_value != tracked.md5:
            raise CorruptObject(f"the data of {where} hashes to {h.hash_value}: the DVC "
                                "cache or remote is damaged (nothing of this commit was "
                                "imported)")
        return target

    def close(self) -> None:
        self.fs.close()
        if self._top is not None:
            self._top.close()


def _from_dvc(exc: BaseException) -> bool:
    """Whether ``exc`` comes from DVC or the libraries it reads remotes with."""
    return type(exc).__module__.split(".")[0] in ("dvc", "dvc_data", "dvc_objects",
                                                  "dvc_http", "aiohttp", "fsspec", "scmrepo")


@contextmanager
def _revision(project: Path, sha: str, remote: str | None, remotes: dict[str, Any],
              git: Git) -> Iterator[_Revision]:
    prefix = "" if git.toplevel == project else project.relative_to(git.toplevel).as_posix()
    rev = _Revision(project, sha, remote, remotes, toplevel=git.toplevel, prefix=prefix)
    try:
        yield rev
    finally:
        rev.close()


def _work_tree_remotes(project: Path) -> tuple[str | None, dict[str, Any]]:
    """The default remote's name and every remote, as configured in the work tree now (all
    config levels): what old commits should read their data from."""
    from dvc.repo import Repo as DvcRepo

    try:
        with DvcRepo(str(project)) as r:
            name = r.config["core"].get("remote")
            return name, {k: dict(v) for k, v in r.config["remote"].items()}
    except Exception as exc:  # noqa: BLE001 - any DVC failure here means "not a project"
        raise InvalidInput(f"{project} is not a usable DVC project: {exc}") from None


def _last_imported(repo: Repo, branch: str) -> str | None:
    """The git commit the newest imported commit of ``branch`` came from."""
    for row in repo.log(branch):
        sha = row.meta.get(GIT_COMMIT_KEY)
        if sha:
            return str(sha)
    return None


def _target(store: Store, name: str, branch: str) -> Repo:
    try:
        repo = store.repo(name)
    except RepoNotFound:
        repo = store.create_repo(name, "imported DVC project")
    if store.catalog.get_ref(repo.id, branch) is None:
        try:
            repo.create_branch(branch, root_commit(repo))
        except RefExists:
            pass
    return repo


def _message(c: GitCommit) -> str:
    msg = c.message.strip() or f"(no message) git {c.sha[:12]}"
    return msg[:MAX_MESSAGE_CHARS]


def import_project(store: Store, project_dir: str | os.PathLike[str], repo: str, *,
                   branch: str = "main", rev_range: str | None = None,
                   target_branch: str | None = None,
                   progress: Progress = NULL_PROGRESS) -> ImportReport:
    """Import the DVC project at ``project_dir`` into repository ``repo`` (created if
    missing), one commit per git commit of ``branch`` that changed ``.dvc`` files or
    ``dvc.lock``, onto the BlackLake branch ``target_branch`` (default: ``branch``).

    ``rev_range`` (a ``git rev-list`` range such as ``v1.0..main``) limits which commits are
    considered; commits already imported are skipped either way. ``progress`` counts
    commits. See the module docstring for what is kept and how errors leave things.
    """
    validate_repo_name(repo)
    target = validate_ref_name(target_branch or branch, "branch")
    project = Path(project_dir).expanduser().resolve()
    if not project.is_dir():
        raise PathNotFound(f"no such project directory: {project}")
    if not (project / ".dvc").is_dir():
        raise InvalidInput(f"{project} is not a DVC project (no .dvc directory; run "
                           "`dvc init`)")
    git = Git(project)
    prefix = "" if git.toplevel == project else project.relative_to(git.toplevel).as_posix()
    tip = git.rev(branch)
    _require_dvc()
    remote, remotes = _work_tree_remotes(project)
    history = git.first_parent(tip)
    if rev_range is not None:
        if not rev_range.strip() or rev_range.startswith("-"):
            raise InvalidInput(f"invalid git revision range {rev_range!r}")
        wanted = set(git.first_parent(rev_range))
        history = [sha for sha in history if sha in wanted]

    bl_repo = _target(store, repo, target)
    last = _last_imported(bl_repo, target)
    if last is not None:
        full = git.first_parent(tip)
        if last not in full:
            why = "is not on" if git.has_commit(last) else "does not exist in"
            raise ConflictError(
                f"branch {target!r} of {repo!r} was last imported from git commit "
                f"{last[:12]}, which {why} the first-parent history of {branch!r} in "
                f"{project}: the git history was rewritten (or this is another project). "
                "Import into a new branch or repository.")
        done = set(full[:full.index(last) + 1])
        history = [sha for sha in history if sha not in done]

    report = ImportReport(str(project), repo, target, resumed_from=last)
    infos = git.commits(history)
    progress.start(len(history), "commits", f"importing {project.name}")
    try:
        before: dict[str, TrackedFile] = {}
        stages_before: dict[str, LockedStage] = {}
        if last is not None and history:
            with _revision(project, last, remote, remotes, git) as rev:
                before = rev.tracked()
            stages_before = locked_stages(git, last, prefix)
        for sha in history:
            c = infos[sha]
            parent = c.parents[0] if c.parents else None
            if not any(_is_dvc_change(p, prefix) for p in git.changed(sha, parent)):
                report.skipped += 1
                progress.advance(1)
                continue
            with _revision(project, sha, remote, remotes, git) as rev:
                after = rev.tracked()
                imported = _import_commit(bl_repo, target, rev, c, before, after,
                                          project=str(project), git_branch=branch)
            stages_after = locked_stages(git, sha, prefix)
            ran = changed_stages(stages_before, stages_after)
            if ran:
                record_stages(store, ran, repo=repo, commit=imported.commit,
                              is_stored=_stored_check(after), project=str(project),
                              git_commit=sha)
                imported.stages = [s.name for s in ran]
            report.imported.append(imported)
            before, stages_before = after, stages_after
            progress.advance(1)
    finally:
        progress.finish()
    return report


def _stored_check(files: dict[str, TrackedFile]) -> Any:
    dirs = {posixpath.dirname(p) for p in files}
    expanded: set[str] = set()
    for d in dirs:
        while d and d not in expanded:
            expanded.add(d)
            d = posixpath.dirname(d)

    def is_stored(path: str) -> bool:
        return path in files or path in expanded

    return is_stored


def _import_commit(repo: Repo, branch: str, rev: _Revision, c: GitCommit,
                   before: dict[str, TrackedFile], after: dict[str, TrackedFile], *,
                   project: str, git_branch: str) -> ImportedCommit:
    """Gather every changed file of ``c``, then commit them in one transaction."""
    changed = [t for p, t in sorted(after.items())
               if p not in before or before[p].md5 != t.md5]
    removed = sorted(set(before) - set(after))
    meta = {GIT_COMMIT_KEY: c.sha, "git.author_date": c.author_date,
            "git.commit_date": c.commit_date,
            "git.committer": f"{c.committer_name} <{c.committer_email}>",
            "git.branch": git_branch, "dvc.project": project, "source": "dvc-import"}
    tmp_dir = tempfile.mkdtemp(prefix="blacklake-dvc-import-")
    try:
        # Everything is fetched and verified before the transaction exists: a missing file
        # fails the commit before anything of it is written.
        locals_ = [(t, rev.fetch(t, tmp_dir, c.subject)) for t in changed]
        nbytes = sum(os.path.getsize(local) for _, local in locals_)

        def build() -> Transaction:
            tx = repo.transaction(branch, _message(c), meta=meta, author=c.author,
                                  time=c.author_date)
            for t, local in locals_:
                tx.put_file(local, normalize_path(t.path))
            for path in removed:
                tx.delete(normalize_path(path))
            return tx

        result = repo.commit_retrying(build, allow_empty=True)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    _remember_md5(repo, result.commit, changed)
    return ImportedCommit(git_commit=c.sha, commit=result.commit, message=_message(c),
                          author=c.author, date=c.author_date,
                          added=sum(1 for t in changed if t.path not in before),
                          modified=sum(1 for t in changed if t.path in before),
                          deleted=len(removed), bytes=nbytes)


def _remember_md5(repo: Repo, commit: str, files: list[TrackedFile]) -> None:
    from blacklake_ml.service.trees import lookup

    odb = repo.store.odb
    tree = odb.commit(commit).tree
    for t in files:
        if t.hash_name != "md5":
            continue  # a DVC 2 md5-dos2unix value is not the content's MD5
        entry = lookup(odb, tree, normalize_path(t.path))
        if entry is not None:
            repo.store.catalog.set_md5(entry.id, t.md5)
