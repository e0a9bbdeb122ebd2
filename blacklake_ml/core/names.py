"""Validation of every user-supplied name, path, message and metadata map.

The rules are the contract in PRODUCT.md; each validator raises a subclass of
:class:`~blacklake_ml.errors.InvalidInput` with one clear line, and returns the value in its
canonical form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from blacklake_ml.errors import InvalidMessage, InvalidMetadata, InvalidName, InvalidPath

REPO_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
REF_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,128}")
HEX_RE = re.compile(r"[0-9a-f]+")
#: C0 controls and DEL: a newline in a name forges output lines and log entries, an escape
#: sequence drives terminals, and filesystems refuse some of them at checkout
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

MAX_PATH_BYTES = 4096
#: what ext4, XFS, APFS and NTFS accept for one file name: a longer segment could be
#: committed but never checked out
MAX_SEGMENT_BYTES = 255
MAX_MESSAGE_CHARS = 16_384
MAX_META_KEY_CHARS = 128
MAX_META_VALUE_CHARS = 4096
MAX_META_ENTRIES = 256
MAX_META_BYTES = 64 * 1024


def _control(text: str) -> str | None:
    """The first control character of ``text`` as ``U+XXXX``, or None."""
    m = CONTROL_RE.search(text)
    return f"U+{ord(m.group()):04X}" if m else None


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def validate_repo_name(name: str) -> str:
    """Return ``name`` if it is a valid repository name, else raise :class:`InvalidName`."""
    if not isinstance(name, str) or not REPO_NAME_RE.fullmatch(name):
        raise InvalidName(
            f"invalid repository name {name!r}: use 1-63 lowercase letters, digits, '-', '_' "
            "or '.', starting with a letter or digit"
        )
    return name


def validate_ref_name(name: str, kind: str = "branch") -> str:
    """Return ``name`` if it is a valid branch or tag name, else raise :class:`InvalidName`.

    The character class already excludes control characters; they get their own message
    because ``name!r`` of a CR/LF looks like an ordinary escape to a reader.
    """
    if isinstance(name, str) and (bad := _control(name)):
        raise InvalidName(f"invalid {kind} name {name!r}: contains the control character {bad}")
    if (
        not isinstance(name, str)
        or not REF_NAME_RE.fullmatch(name)
        or name in {".", ".."}
    ):
        raise InvalidName(
            f"invalid {kind} name {name!r}: use 1-128 letters, digits, '-', '_' or '.' (no '/')"
        )
    return name


def normalize_path(path: str, *, allow_root: bool = True) -> str:
    """Return the canonical form of a repository path ('' is the root).

    Accepts ``a/b``, ``a/b/`` and ``a//b`` (empty segments are dropped); rejects absolute
    paths, ``.``/``..`` segments, backslash-rooted Windows forms, control characters
    (U+0000-U+001F, U+007F: NUL, CR, LF, ESC, ...), segments over 255 bytes and paths over
    4096 bytes (UTF-8). Nothing is resolved against a filesystem.
    """
    if not isinstance(path, str):
        raise InvalidPath(f"path must be a string, not {type(path).__name__}")
    if "\x00" in path:
        raise InvalidPath("invalid path: contains a NUL byte")
    if bad := _control(path):
        raise InvalidPath(f"invalid path {path[:200]!r}: contains the control character {bad}")
    if _utf8_len(path) > MAX_PATH_BYTES:
        raise InvalidPath(f"invalid path: longer than {MAX_PATH_BYTES} bytes")
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", path):
        raise InvalidPath(f"invalid path {path!r}: must be relative to the repository root")
    parts = [p for p in path.split("/") if p]
    for part in parts:
        if part in (".", ".."):
            raise InvalidPath(f"invalid path {path!r}: '.' and '..' segments are not allowed")
        if "\\" in part:
            raise InvalidPath(f"invalid path {path!r}: backslashes are not allowed")
        if _utf8_len(part) > MAX_SEGMENT_BYTES:
            raise InvalidPath(f"invalid path: segment {part[:40]!r}... is longer than "
                              f"{MAX_SEGMENT_BYTES} bytes (UTF-8)")
    norm = "/".join(parts)
    if not norm and not allow_root:
        raise InvalidPath("invalid path: empty (the repository root cannot be used here)")
    return norm


def join_path(prefix: str, name: str) -> str:
    """Join two canonical repository paths."""
    return f"{prefix}/{name}" if prefix else name


def validate_message(message: str) -> str:
    """Return a stripped commit message, rejecting empty or oversized ones."""
    if not isinstance(message, str):
        raise InvalidMessage("commit message must be a string")
    msg = message.strip()
    if not msg:
        raise InvalidMessage("commit message is empty: pass one with -m")
    if "\x00" in msg:
        raise InvalidMessage("commit message contains a NUL byte")
    if len(msg) > MAX_MESSAGE_CHARS:
        raise InvalidMessage(f"commit message is longer than {MAX_MESSAGE_CHARS} characters")
    return msg


def validate_meta(meta: Mapping[str, object] | None) -> dict[str, str]:
    """Return metadata as a new ``dict[str, str]`` or raise :class:`InvalidMetadata`.

    Values may be str, int, float or bool (stored as their string form); keys are non-empty
    strings without control characters or '='. Values may hold newlines and tabs (a
    description, a JSON snippet) but no NUL. Limits keep trees small and queries cheap.
    """
    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        raise InvalidMetadata("metadata must be a mapping of strings")
    if len(meta) > MAX_META_ENTRIES:
        raise InvalidMetadata(f"metadata has more than {MAX_META_ENTRIES} entries")
    out: dict[str, str] = {}
    total = 0
    for key, value in meta.items():
        if not isinstance(key, str) or not key or "=" in key:
            raise InvalidMetadata(f"invalid metadata key {key!r}")
        if bad := _control(key):
            raise InvalidMetadata(f"invalid metadata key {key[:40]!r}: contains the control "
                                  f"character {bad}")
        if len(key) > MAX_META_KEY_CHARS:
            raise InvalidMetadata(f"metadata key {key[:20]!r}... longer than {MAX_META_KEY_CHARS}")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        if not isinstance(value, str):
            raise InvalidMetadata(f"metadata value for {key!r} must be a string")
        if "\x00" in value:
            raise InvalidMetadata(f"metadata value for {key!r} contains a NUL byte")
        if len(value) > MAX_META_VALUE_CHARS:
            raise InvalidMetadata(
                f"metadata value for {key!r} is longer than {MAX_META_VALUE_CHARS} characters"
            )
        total += len(key.encode()) + len(value.encode())
        out[key] = value
    if total > MAX_META_BYTES:
        raise InvalidMetadata(f"metadata is larger than {MAX_META_BYTES // 1024} KiB")
    return out


def parse_meta_pairs(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Parse CLI ``K=V`` strings into validated metadata."""
    meta: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidMetadata(f"invalid metadata {pair!r}: expected KEY=VALUE")
        meta[key] = value
    return validate_meta(meta)


def parent_dirs(path: str) -> list[str]:
    """Directory prefixes of ``path`` (``a/b/c`` -> ``a``, ``a/b``)."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def overlapping(ours: Iterable[str], theirs: Iterable[str]) -> set[str]:
    """Paths in ``ours`` equal to, inside, or containing a path in ``theirs`` (what makes
    two change sets conflict)."""
    ours, theirs = set(ours), set(theirs)
    hit = ours & theirs
    their_dirs = {a for p in theirs for a in parent_dirs(p)}
    hit |= {p for p in ours if p in their_dirs}
    our_dirs = {a for p in ours for a in parent_dirs(p)}
    hit |= {p for p in theirs if p in our_dirs}
    hit |= {p for p in ours if any(a in theirs for a in parent_dirs(p))}
    return hit
