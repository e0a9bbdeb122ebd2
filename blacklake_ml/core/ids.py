"""Content addressing, fixed in one place.

Every stored object has a *kind* and canonical *body* bytes. Its id is the BLAKE3 digest of a
type header plus the body (``b"<kind> <len>\\0" + body``, the git/dulwich idea), so a chunk and
a tree with equal bytes never share an id, and a body read back can always be verified against
its id. Ids are 64 lowercase hex characters; the algorithm is fixed by the store format
version (``FORMAT`` below) and recorded in the store's marker file. Whole-file interop digests
(SHA-256, MD5) are different things, stored under their algorithm's name.
"""

from __future__ import annotations

from enum import Enum
import blake3

from blacklake_ml.errors import CorruptObject

#: Store format: object hash and encoding. Bumped only with a migration.
FORMAT = {"version": 1, "object_hash": "blake3", "file_digest": "sha256"}

class Kind(str, Enum):
    """Object kinds; the value is the type header written into the hash."""

    CHUNK = "chunk"
    FILE = "file"
    TREE = "tree"
    COMMIT = "commit"

    @property
    def code(self) -> int:
        """Small integer used in pack indexes and the catalog."""
        return _KIND_CODES[self]

    @classmethod
    def from_code(cls, code: int) -> Kind:
        """Inverse of :attr:`code`."""
        return _CODE_KINDS[code]


_KIND_CODES = {Kind.CHUNK: 1, Kind.FILE: 2, Kind.TREE: 3, Kind.COMMIT: 4}
_CODE_KINDS = {v: k for k, v in _KIND_CODES.items()}
_HEADERS = {k: k.value.encode() for k in Kind}


def object_id(kind: Kind, body: bytes | bytearray | memoryview) -> str:
    """The id of an object of ``kind`` with canonical ``body``."""
    h = blake3.blake3(_HEADERS[kind] + b" %d\x00" % len(body))
    h.update(body)
    return h.hexdigest()


def verify(kind: Kind, oid: str, body: bytes | bytearray | memoryview) -> None:
    """Raise :class:`CorruptObject` unless ``body`` hashes to ``oid``."""
    actual = object_id(kind, body)
    if actual != oid:
        raise CorruptObject(
            f"corrupt {kind.value} object {oid[:16]}: content hashes to {actual[:16]}"
        )
