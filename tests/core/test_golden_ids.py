"""Golden vectors for the store format: object ids, canonical bodies and chunk boundaries.

Every id a store ever wrote must be computed the same way forever (a different id for the same
content breaks dedup against old versions, and a different body breaks verification of what
is stored). These vectors were computed once from the format as documented in
``blacklake_ml.core.ids`` (BLAKE3 of ``b"<kind> <len>\\0" + body``) and
``blacklake_ml.core.objects``; a test failing here means the format changed: that needs a
``FORMAT`` version bump and a migration, not a new vector.
"""

from __future__ import annotations

import hashlib

import blake3
import pytest

from blacklake_ml.core.chunking import PARALLEL_MIN, Chunker
from blacklake_ml.core.ids import FORMAT, Kind, object_id
from blacklake_ml.core.objects import EMPTY_TREE, Commit, FileManifest, Tree, TreeEntry

BODY = b"hello blacklake\n"
CHUNK_ID = "4e8aedffb21fdbbda9e65a7d98057ff47cce56e0dba93525c8655525d7a1ce75"
FILE_V1_ID = "1846799113a2d344c98561f9240c87ef4687b2540ef0db4b31c2487f284160e6"
FILE_V2_ID = "131253a92db4e7620215adf023af3b54344f8947680567b919d6af3d5b6cf921"
TREE_ID = "528438531c5519252a2ac50b417aceba4ac56f206ffe64c72f786e0de70abf81"
EMPTY_TREE_ID = "5c01b6c5c595ac18eae19546468769e376169b0f7d6bf2f5e0f6c24911fca434"
COMMIT_ID = "8d5a14a8ec0f6353edffbb9a1b227efc5a42706d06eb7f92f39e33a3fc0cd7b5"
MiB = 1024 * 1024
#: SHA-256 of repr() of all 77 chunk lengths of the chunking vector
ALL_CUTS_SHA256 = "a7f0945ba07002f55f89d51b5bfcb7244380d7797ba83e72a729969f7e17a384"
SHA256 = "aee446ec1b2608c3a69ad0dd752559ff3d9ef22a4ee09250c3204dd74f659f83"


def _by_hand(kind: str, body: bytes) -> str:
    """The documented formula, computed without ``object_id``."""
    return blake3.blake3(f"{kind} {len(body)}\0".encode() + body).hexdigest()


def _manifest(sha256: str | None) -> FileManifest:
    return FileManifest(size=len(BODY), sha256=sha256, chunks=((CHUNK_ID, len(BODY)),))


def _tree() -> Tree:
    return Tree([TreeEntry("hello.txt", "file", FILE_V1_ID, len(BODY), 1, {}).row()])


def _commit() -> Commit:
    return Commit(tree=TREE_ID, parents=(), author="A <a@example.com>",
                  committer="A <a@example.com>", time="2026-01-01T00:00:00Z",
                  message="first", size=len(BODY), nfiles=1)


def test_format_is_version_1_blake3() -> None:
    assert FORMAT == {"version": 1, "object_hash": "blake3", "file_digest": "sha256"}


def test_chunk_id() -> None:
    assert object_id(Kind.CHUNK, BODY) == CHUNK_ID == _by_hand("chunk", BODY)
    # one body, four kinds, four ids: the kind is part of what is hashed
    assert len({object_id(k, BODY) for k in Kind}) == 4


@pytest.mark.parametrize(("sha", "body", "oid"), [
    (SHA256, b'{"chunks":[["' + CHUNK_ID.encode() + b'",16]],"sha256":"' + SHA256.encode()
     + b'","size":16,"v":1}', FILE_V1_ID),
    (None, b'{"chunks":[["' + CHUNK_ID.encode() + b'",16]],"size":16,"v":2}', FILE_V2_ID),
])
def test_file_bodies_and_ids(sha: str | None, body: bytes, oid: str) -> None:
    assert hashlib.sha256(BODY).hexdigest() == SHA256
    m = _manifest(sha)
    assert m.encode() == body
    assert m.id == oid == _by_hand("file", body)
    assert FileManifest.decode(body) == m


def test_tree_body_and_id() -> None:
    body = b'[["hello.txt","f","' + FILE_V1_ID.encode() + b'",16,1,null]]'
    t = _tree()
    assert t.encode() == body
    assert t.id == TREE_ID == _by_hand("tree", body)
    assert EMPTY_TREE.id == EMPTY_TREE_ID == _by_hand("tree", b"[]")


def test_commit_body_and_id() -> None:
    body = (b'{"author":"A <a@example.com>","committer":"A <a@example.com>",'
            b'"message":"first","meta":{},"nfiles":1,"parents":[],"size":16,'
            b'"time":"2026-01-01T00:00:00Z","tree":"' + TREE_ID.encode() + b'","v":1}')
    c = _commit()
    assert c.encode() == body
    assert c.id == COMMIT_ID == _by_hand("commit", body)
    assert Commit.decode(body) == c


def test_chunk_boundaries() -> None:
    """FastCDC cut points (avg 64 KiB, min 16 KiB, max 256 KiB) of a fixed input."""
    buf = blake3.blake3(b"blacklake golden chunking").digest(length=PARALLEL_MIN + 2 * MiB)
    lengths = [len(c) for c in Chunker().cut(buf)]
    assert len(lengths) == 77 and sum(lengths) == len(buf)
    assert lengths[:26] == [74386, 77705, 97014, 68372, 34875, 76228, 103319, 74484, 88965, 35020,
                       66113, 90748, 36738, 70626, 73961, 109489, 142908, 40377, 99699, 75734,
                       68595, 37530, 61117, 66038, 56734, 140665]
    assert hashlib.sha256(repr(lengths).encode()).hexdigest() == ALL_CUTS_SHA256
    # the parallel cutter (two halves re-synchronised at the seam) gives the same cuts
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2) as pool:
        assert [n for _, n in Chunker().cut_offsets(buf, pool.submit)] == lengths
