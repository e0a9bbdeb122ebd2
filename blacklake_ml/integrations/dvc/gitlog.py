"""The git side of a DVC import: first-parent history, commit metadata, changed paths.

Plain ``git`` subprocesses (the binary DVC projects already need), with ``-z``/NUL-separated
output so any path or message survives. Failures become one
:class:`~blacklake_ml.errors.BlacklakeError` naming the git command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from blacklake_ml.errors import InvalidInput, RefNotFound

_FIELDS = ("%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B")
_FORMAT = "%x00".join(_FIELDS) + "%x1e"


def git_binary() -> str:
    """The git executable (``git`` on PATH, else /usr/bin/git)."""
    return shutil.which("git") or "/usr/bin/git"


@dataclass(frozen=True)
class GitCommit:
    """What a BlackLake commit keeps of a git commit."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_date: str  # ISO 8601 with offset, as git prints it (%aI)
    committer_name: str
    committer_email: str
    commit_date: str
    message: str

    @property
    def author(self) -> str:
        """``Name <email>``."""
        return f"{self.author_name} <{self.author_email}>"

    @property
    def subject(self) -> str:
        """The first line of the message."""
        return self.message.splitlines()[0] if self.message else ""


class Git:
    """Read-only git queries on one work tree."""

    def __init__(self, worktree: str | os.PathLike[str]) -> None:
        self.worktree = Path(worktree)
        self._cwd = self.worktree
        top = self._run("rev-parse", "--show-toplevel", what="a git repository").strip()
        self.toplevel = Path(top).resolve()
        # every later command runs at the top level: paths in and out are then relative to
        # it, also for a DVC project in a subdirectory (`dvc init --subdir`)
        self._cwd = self.toplevel

    def _run(self, *args: str, what: str | None = None, check: bool = True) -> str:
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
        try:
            proc = subprocess.run([git_binary(), "-c", "core.quotepath=off", *args],
                                  cwd=self._cwd, capture_output=True, env=env, check=False)
        except OSError as exc:
            raise InvalidInput(f"cannot run git in {self.worktree}: {exc}") from None
        if proc.returncode != 0 and check:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            if what is not None:
                raise InvalidInput(f"{self.worktree} is not {what}: "
                                   f"{err[-1] if err else 'git failed'}")
            raise InvalidInput(f"git {' '.join(args)} failed in {self.worktree}: "
                               f"{err[-1] if err else proc.returncode}")
        return proc.stdout.decode(errors="surrogateescape")

    def rev(self, spec: str) -> str:
        """The commit ``spec`` names (:class:`RefNotFound` if none)."""
        out = self._run("rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}", check=False)
        sha = out.strip()
        if not sha:
            raise RefNotFound(f"no git commit or branch {spec!r} in {self.worktree}")
        return sha

    def has_commit(self, sha: str) -> bool:
        """Whether the object database holds commit ``sha``."""
        return bool(self._run("rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}",
                              check=False).strip())

    def first_parent(self, *specs: str) -> list[str]:
        """``git rev-list --first-parent`` of ``specs``, oldest first."""
        out = self._run("rev-list", "--first-parent", "--reverse", *specs, "--")
        return out.split()

    def commits(self, shas: list[str]) -> dict[str, GitCommit]:
        """Metadata of many commits in one git call."""
        out: dict[str, GitCommit] = {}
        for i in range(0, len(shas), 500):
            text = self._run("show", "-s", "--no-walk=unsorted", f"--format={_FORMAT}",
                             *shas[i:i + 500])
            for record in text.split("\x1e"):
                record = record.lstrip("\n")
                if not record:
                    continue
                f = record.split("\x00")
                out[f[0]] = GitCommit(sha=f[0], parents=tuple(f[1].split()),
                                      author_name=f[2], author_email=f[3], author_date=f[4],
                                      committer_name=f[5], committer_email=f[6],
                                      commit_date=f[7], message=f[8].strip())
        return out

    def changed(self, sha: str, parent: str | None) -> list[str]:
        """Paths (relative to the top level) that ``sha`` changed against ``parent`` (or
        everything it holds, for a root commit)."""
        if parent is None:
            out = self._run("diff-tree", "-r", "--root", "--name-only", "--no-commit-id",
                            "-z", sha)
        else:
            out = self._run("diff-tree", "-r", "--name-only", "--no-commit-id", "-z",
                            parent, sha)
        return [p for p in out.split("\x00") if p]

    def files(self, sha: str, under: str = "") -> list[str]:
        """Every path in commit ``sha`` (below ``under``), relative to the top level."""
        args = ["ls-tree", "-r", "--name-only", "--full-name", "-z", sha]
        if under:
            args += ["--", under]
        return [p for p in self._run(*args).split("\x00") if p]

    def show(self, sha: str, path: str) -> bytes:
        """The content of ``path`` at ``sha``."""
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
        proc = subprocess.run([git_binary(), "show", f"{sha}:{path}"], cwd=self._cwd,
                              capture_output=True, env=env, check=False)
        if proc.returncode != 0:
            raise InvalidInput(f"git show {sha[:12]}:{path} failed in {self.worktree}")
        return proc.stdout
