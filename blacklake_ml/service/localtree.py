"""Walking a local directory for ``put DIR``: which files, under which names, read from where.

Symlinks are where a walk can leave the tree the user named: a link to ``/etc/hostname`` or
``~/.aws`` inside a model folder would otherwise be committed (and perhaps pushed to shared
storage) without anyone noticing. The rules:

* A symlink whose target resolves **outside** the directory is refused with
  :class:`~blacklake_ml.errors.UnsafeSymlink` naming the link, before anything is read or
  stored, unless the caller asked to follow symlinks (``--follow-symlinks`` /
  ``follow_symlinks=True``). The check is on the fully resolved target, so a chain of links
  or a link below a linked directory cannot sneak out either. A dangling link that points
  outside is refused as well: whether it is dangling must not decide what happens.
* A symlink that stays **inside** is stored as what it points to: a file link becomes a file
  with the target's bytes, a directory link a directory with the target's contents (the
  repository has no symlink entries; deduplication makes the copy free).
* Dangling links inside the tree, sockets, FIFOs and device files are skipped, as before:
  there is nothing to version (and reading ``/dev/zero`` would never end).
* A directory link back to one of its own ancestors (a loop) is refused; a directory reached
  through links more than :data:`MAX_DIR_VISITS` times is refused too, so a lattice of links
  cannot blow the walk up exponentially. The walk always terminates.

Files are read later from their *resolved* path, so retargeting a checked link between the
walk and the read does not redirect the read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import Counter
from dataclasses import dataclass

from blacklake_ml.errors import PathNotFound, UnsafeSymlink

#: how often one real directory may be entered (through different links) in one walk
MAX_DIR_VISITS = 32
#: errors of ``stat`` that mean "the link leads nowhere": the entry is skipped
_DANGLING = {errno.ENOENT, errno.ENOTDIR, errno.ELOOP}
_FOLLOW_HINT = "pass --follow-symlinks (follow_symlinks=True) to store what it points to"


@dataclass(frozen=True)
class LocalFile:
    """One regular file found by :func:`scan_dir`."""

    #: its path below the scanned directory, '/'-separated, as the user sees it (link names)
    rel: str
    #: where its bytes are read from (symlinks resolved)
    path: str
    size: int


def _inside(target: str, root: str) -> bool:
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def scan_dir(local_dir: str, *, follow_symlinks: bool = False) -> list[LocalFile]:
    """Every regular file below ``local_dir`` (see the module docstring for symlinks).

    Raises :class:`PathNotFound` if ``local_dir`` is not a directory and
    :class:`UnsafeSymlink` for a link leading outside (unless ``follow_symlinks``) or a
    loop. Order: depth first, by name; a directory's files before its subdirectories'.
    """
    if not os.path.isdir(local_dir):
        raise PathNotFound(f"no such directory: {local_dir}")
    root = os.path.realpath(local_dir)  # LOCAL itself may be a link: the user named it
    top = os.stat(root)
    visits: Counter[tuple[int, int]] = Counter()
    out: list[LocalFile] = []
    # (directory to list, its path below the root, identities of it and its ancestors)
    stack: list[tuple[str, str, tuple[tuple[int, int], ...]]] = [
        (root, "", ((top.st_dev, top.st_ino),))]
    while stack:
        fs_dir, rel_dir, chain = stack.pop()
        with os.scandir(fs_dir) as it:
            entries = sorted(it, key=lambda e: e.name)
        found: list[tuple[str, str, os.stat_result]] = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            path = entry.path
            if entry.is_symlink():
                path = os.path.realpath(entry.path)
                if not follow_symlinks and not _inside(path, root):
                    raise UnsafeSymlink(
                        f"refusing to follow the symlink {os.path.join(local_dir, rel)!r}: it "
                        f"points outside {local_dir!r} (to {path!r}); {_FOLLOW_HINT}")
            try:
                st = os.stat(path)
            except OSError as exc:
                if exc.errno in _DANGLING:
                    continue
                raise
            found.append((rel, path, st))
        subdirs = []
        for rel, path, st in found:
            if stat.S_ISREG(st.st_mode):
                out.append(LocalFile(rel, path, st.st_size))
            elif stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in chain:
                    raise UnsafeSymlink(f"symlink loop: {os.path.join(local_dir, rel)!r} "
                                        "leads back to a directory that contains it")
                visits[key] += 1
                if visits[key] > MAX_DIR_VISITS:
                    raise UnsafeSymlink(
                        f"the directory {path!r} is reached through symlinks more than "
                        f"{MAX_DIR_VISITS} times (last as {os.path.join(local_dir, rel)!r})")
                subdirs.append((path, rel, (*chain, key)))
        stack.extend(reversed(subdirs))  # depth first, in name order
    return out


__all__ = ["MAX_DIR_VISITS", "LocalFile", "scan_dir"]
