"""`dvc push` / `dvc pull` against BlackLake as a DVC HTTP remote vs a local-directory remote.

Anchor: the same DVC project pushing to and pulling from a plain directory remote on the same
disk (``dvc remote add local /path``: DVC copies files, no network, no server) — the fastest
remote DVC has. The data: ``--files`` small files of 4 KiB in one tracked directory plus one
``--big-mib`` MiB random file (version 1), then a version 2 of the big file with ~5% of its
bytes changed in 20 scattered regions (a new checkpoint), pushed again.

Reported: push and pull seconds of each version against each remote (pull starts from an
empty DVC cache and workspace), the ratios BlackLake / directory remote, and the bytes each
remote keeps for both versions (the directory remote stores each version whole; BlackLake
chunks and deduplicates what DVC pushes). The BlackLake remote runs in this process
(``DvcRemote.serve``, a threaded gateway on 127.0.0.1) and its batch commit is timed as part
of the push (``flush`` right after ``dvc push`` returns: the objects are durable before the
push is acknowledged, the commit makes them part of the repository's history). No target is
set by the issue; the figures say what a team pays for chunk dedup and one store.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import time
from pathlib import Path

import _common as c

TOKEN = "bench-token"


def make_project(root: Path, files: int, big: int, seed: int) -> Path:
    """A ``dvc init --no-scm`` project with ``data/`` (small files) and ``big.bin``."""
    p = c.dvc_init(root)
    rng = random.Random(seed)
    data = p / "data"
    data.mkdir()
    for i in range(files):
        (data / f"f{i:05d}.bin").write_bytes(rng.randbytes(4096))
    c.write_random_file(p / "big.bin", big)
    c.dvc(p, "add", "-q", "data", "big.bin")
    return p


def new_version(path: Path, seed: int) -> None:
    """Rewrite ~5% of ``path`` in 20 scattered regions (see ``_common.rewrite_regions``)."""
    data = bytearray(path.read_bytes())
    c.rewrite_regions(data, random.Random(seed))
    path.write_bytes(data)


def use_remote(project: Path, name: str) -> None:
    c.dvc(project, "remote", "default", name)


def empty_cache_and_workspace(project: Path) -> None:
    """What a fresh clone has: no DVC cache, no data in the workspace."""
    shutil.rmtree(project / ".dvc" / "cache", ignore_errors=True)
    shutil.rmtree(project / "data", ignore_errors=True)
    (project / "big.bin").unlink(missing_ok=True)


def main() -> int:
    """Run the benchmark; print a table and one JSON line."""
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=None, help="small files (default 2000)")
    p.add_argument("--big-mib", type=int, default=None, help="big file MiB (default 256)")
    args = p.parse_args()
    c.print_load("at start")
    files = args.files or (200 if args.quick else 2000)
    big = (args.big_mib or (16 if args.quick else 256)) * c.MiB

    from blacklake_ml import Store
    from blacklake_ml.integrations.dvc import DvcRemote

    times: dict[str, float] = {}
    with c.workdir(args, "dvc-remote") as wd:
        project = make_project(wd / "project", files, big, seed=1)
        local = wd / "local-remote"
        c.dvc(project, "remote", "add", "local", str(local))
        store = Store.open(wd / "home")
        remote = DvcRemote(store)
        gateway = remote.serve(token=TOKEN).start()
        try:
            c.dvc(project, "remote", "add", "bl", f"{gateway.url}/dvc/bench")
            for k, v in (("auth", "basic"), ("user", "bench"), ("password", TOKEN)):
                c.dvc(project, "remote", "modify", "--local", "bl", k, v)

            def push(name: str, key: str) -> None:
                use_remote(project, name)
                c.settle()
                t0 = time.perf_counter()
                c.dvc(project, "push", "-q", "-j", "4")
                if name == "bl":
                    remote.flush()  # the batch commit is part of the push's cost
                times[key] = time.perf_counter() - t0

            def pull(name: str, key: str) -> None:
                use_remote(project, name)
                empty_cache_and_workspace(project)
                c.settle()
                times[key] = c.timed(c.dvc, project, "pull", "-q", "-j", "4")[0]

            for version in (1, 2):
                if version == 2:
                    new_version(project / "big.bin", seed=2)
                    c.dvc(project, "add", "-q", "big.bin")
                for name in c.rotated(["local", "bl"], version):
                    push(name, f"push_v{version}_{name}")
                for name in c.rotated(["local", "bl"], version + 1):
                    pull(name, f"pull_v{version}_{name}")
                    if version == 2:
                        assert (project / "big.bin").stat().st_size == big
            status = c.dvc(project, "status", "-c", "-r", "bl").stdout
            local_bytes = c.tree_bytes(local)
            stats = store.stats("bench")
        finally:
            gateway.close()
            remote.close()
            store.close()

    logical = local_bytes
    stored = int(stats["stored_bytes"])
    rows = []
    for op in ("push", "pull"):
        for v in (1, 2):
            lo, bl = times[f"{op}_v{v}_local"], times[f"{op}_v{v}_bl"]
            rows.append([f"dvc {op}, version {v}", lo, bl, bl / lo])
    c.table(rows, ["what", "directory remote s", "blacklake s", "blacklake / directory"],
            f"{files} x 4 KiB + {big // c.MiB} MiB (v2: ~5% changed), dvc -j 4")
    c.table([["directory remote (anchor)", local_bytes, 1.0],
             ["blacklake stored_bytes", stored, stored / max(logical, 1)]],
            ["remote", "bytes kept for v1 + v2", "ratio"], "storage")
    print(f"dvc status -c against BlackLake: {status.strip() or '(in sync)'}")
    c.print_load("at end")
    c.emit({
        "benchmark": "dvc_remote", "quick": args.quick, "files": files, "big_bytes": big,
        "times_s": times,
        "ratio_push_v1": times["push_v1_bl"] / times["push_v1_local"],
        "ratio_push_v2": times["push_v2_bl"] / times["push_v2_local"],
        "ratio_pull_v1": times["pull_v1_bl"] / times["pull_v1_local"],
        "ratio_pull_v2": times["pull_v2_bl"] / times["pull_v2_local"],
        "local_remote_bytes": local_bytes, "blacklake_stored_bytes": stored,
        "storage_ratio": stored / max(logical, 1), "env": c.environment(),
    })
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    sys.exit(main())
