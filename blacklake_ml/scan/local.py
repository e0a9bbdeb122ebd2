"""Scanning files and folders on the local disk (``blacklake scan PATH``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from blacklake_ml.extract.local import LocalFileSource
from blacklake_ml.scan.formats import scan_source
from blacklake_ml.scan.verdict import UNKNOWN, Verdict


def _files(root: Path) -> Iterator[tuple[Path, str | None]]:
    """``(path, problem)`` for every file under ``root``; symlinks are never followed (a link
    is reported, not read: its target may be outside what the user asked to scan)."""
    if root.is_symlink():
        yield root, "symbolic link (not followed)"
        return
    if root.is_file():
        yield root, None
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for d in list(dirnames):
            if os.path.islink(os.path.join(dirpath, d)):
                dirnames.remove(d)
                yield Path(dirpath, d), "symbolic link to a folder (not followed)"
        for f in sorted(filenames):
            p = Path(dirpath, f)
            if p.is_symlink():
                yield p, "symbolic link (not followed)"
            elif p.is_file():
                yield p, None
            else:
                yield p, "not a regular file"


def scan_paths(paths: list[str], progress: Callable[[str], None] | None = None
               ) -> list[tuple[str, Verdict]]:
    """``(path, verdict)`` for every file in ``paths`` (files or folders, walked in name
    order). A missing path raises ``FileNotFoundError``."""
    out: list[tuple[str, Verdict]] = []
    for raw in paths:
        root = Path(raw)
        if not root.exists() and not root.is_symlink():
            raise FileNotFoundError(raw)
        for p, problem in _files(root):
            if progress is not None:
                progress(str(p))
            if problem is not None:
                out.append((str(p), Verdict(UNKNOWN, "link", [problem])))
                continue
            try:
                src = LocalFileSource(p)
            except OSError as e:
                out.append((str(p), Verdict(UNKNOWN, "unknown", [f"cannot read: {e}"])))
                continue
            out.append((str(p), scan_source(src)))
    return out
