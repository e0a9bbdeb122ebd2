"""Stored bytes for 8 versions of a checkpoint-like file, blacklake vs the DVC cache.

Version 1 is 128 MiB of random bytes. Every later version rewrites ~5% of the previous one in
20 scattered regions; version 4 also *inserts* 4 KiB near the start, shifting every byte
after it (fixed-size chunking would lose all dedup there; content-defined chunking should
not). Each version is committed to the same path in blacklake (one commit each) and
``dvc add``-ed again in one DVC project (its cache keeps every version whole).

Anchor: bytes under ``.dvc/cache``. Target: blacklake pack bytes on disk <= 1/4 of DVC's.
Also reported: ``Store.stats()`` (stored/logical bytes, dedup ratio) and per-version new bytes.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
from pathlib import Path

import _common as c

VERSIONS = 8
REGIONS = 20
CHANGED = 0.05
INSERT_AT_VERSION = 4
INSERT_OFFSET = 100_000
INSERT_BYTES = 4096


def next_version(prev: bytes, version: int, rng: random.Random) -> bytes:
    """``prev`` with ~5% rewritten in scattered regions (plus an insertion for version 4)."""
    buf = bytearray(prev)
    c.rewrite_regions(buf, rng, fraction=CHANGED, regions=REGIONS)
    if version == INSERT_AT_VERSION:
        at = min(INSERT_OFFSET, len(buf) // 2)
        buf[at:at] = os.urandom(INSERT_BYTES)
    return bytes(buf)


def write_version(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (unlinking first: DVC may leave it read-only)."""
    c.remove(path)
    with open(path, "wb") as f:
        f.writelines(data[i:i + c.PIECE] for i in range(0, len(data), c.PIECE))


def main() -> int:
    """Run the benchmark; print tables and one JSON line."""
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--size-mib", type=int, default=None, help="checkpoint size (default 128)")
    p.add_argument("--seed", type=int, default=1234)
    args = p.parse_args()
    c.print_load("at start")
    size = (args.size_mib or (16 if args.quick else 128)) * c.MiB
    rng = random.Random(args.seed)

    rows = []
    per_version = []
    with c.workdir(args, "dedup") as wd:
        home = wd / "home"
        store = c.open_store(home)
        repo = store.create_repo("bench")
        project = c.dvc_init(wd / "dvc")
        work = project / "model.ckpt"
        data = os.urandom(size)
        logical = 0
        dvc_before = 0
        packs_before = 0
        for v in range(1, VERSIONS + 1):
            if v > 1:
                data = next_version(data, v, rng)
            write_version(work, data)
            logical += len(data)
            t_bl, res = c.timed(repo.put, work, "model.ckpt", message=f"version {v}")
            t_dvc = c.timed_dvc(project, "add", "-q", work.name)
            packs_now = c.tree_bytes(home / "objects" / "packs")
            dvc_now = c.dvc_cache_bytes(project)
            per_version.append({"version": v, "size": len(data), "blacklake_new_bytes":
                                res.new_bytes, "blacklake_pack_growth": packs_now - packs_before,
                                "dvc_cache_growth": dvc_now - dvc_before,
                                "blacklake_put_s": t_bl, "dvc_add_s": t_dvc})
            rows.append([v, len(data) / c.MiB, (packs_now - packs_before) / c.MiB,
                         (dvc_now - dvc_before) / c.MiB, t_bl, t_dvc])
            packs_before, dvc_before = packs_now, dvc_now
        # The last version reads back intact.
        want = hashlib.sha256(data).hexdigest()
        got = hashlib.sha256(repo.read_bytes("main", "model.ckpt")).hexdigest()
        assert got == want, "read-back mismatch"
        stats = store.stats()
        pack_bytes = c.tree_bytes(home / "objects" / "packs")
        pack_data_bytes = sum(f.stat().st_size for f in (home / "objects" / "packs")
                              .glob("*.pack"))
        dvc_bytes = c.dvc_cache_bytes(project)
        store.close()

    c.table(rows, ["version", "size MiB", "blacklake +MiB", "dvc cache +MiB",
                   "bl put s", "dvc add s"],
            f"{VERSIONS} versions of a {size // c.MiB} MiB checkpoint (~5% changed each, "
            f"v{INSERT_AT_VERSION} inserts {INSERT_BYTES} B at {INSERT_OFFSET})")
    frac = pack_bytes / dvc_bytes
    ok = frac <= 0.25
    c.table([
        ["logical bytes (all versions whole)", logical / c.MiB, ""],
        ["dvc .dvc/cache (anchor)", dvc_bytes / c.MiB, 1.0],
        ["blacklake objects/packs (.pack + .idx)", pack_bytes / c.MiB, frac],
        ["blacklake .pack files only", pack_data_bytes / c.MiB, pack_data_bytes / dvc_bytes],
        ["blacklake stats stored_bytes", stats["stored_bytes"] / c.MiB,
         stats["stored_bytes"] / dvc_bytes],
    ], ["what", "MiB", "fraction of dvc"], "stored bytes")
    print(f"\nblacklake/dvc stored bytes = {frac:.3f} (target <= 0.25): {c.verdict(ok)}; "
          f"dedup_ratio {stats['dedup_ratio']}")
    c.print_load("at end")
    c.emit({
        "benchmark": "dedup_versions", "quick": args.quick, "size_bytes": size,
        "versions": VERSIONS, "logical_bytes": logical, "dvc_cache_bytes": dvc_bytes,
        "blacklake_pack_bytes": pack_bytes, "blacklake_pack_data_bytes": pack_data_bytes,
        "blacklake_stored_bytes": stats["stored_bytes"],
        "blacklake_logical_bytes": stats["logical_bytes"],
        "dedup_ratio": stats["dedup_ratio"], "ratio": frac,
        "ratio_stored_bytes": stats["stored_bytes"] / dvc_bytes,
        "per_version": per_version, "target": "<= 0.25", "pass": ok,
        "env": c.environment(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
