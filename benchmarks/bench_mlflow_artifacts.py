"""MLflow runs logging checkpoints into a ``blacklake://`` artifact location vs MLflow's own
local artifact store.

Anchor: the same runs with the experiment's artifact location a local directory
(``file://…``, MLflow's default kind of artifact store: files copied as they are). Each of
``--versions`` runs logs one checkpoint directory with ``mlflow.log_artifacts`` — a
``--mib`` MiB weights file, where each version rewrites ~5% of the previous one in 20
scattered regions (fine-tuning steps), plus a small config — with a sqlite tracking store.

Reported: seconds per ``log_artifacts`` call on each side (median), the ratio, the seconds to
download the last checkpoint again (``mlflow.artifacts.download_artifacts``), and the bytes each
side keeps for all versions (the directory keeps every version whole; BlackLake chunks and
deduplicates across runs). No target is set by the issue; the figures say what versioning
checkpoints through MLflow into BlackLake costs and saves.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

import _common as c


def checkpoint_versions(root: Path, size: int, versions: int, seed: int = 7) -> list[Path]:
    """``versions`` checkpoint folders (a real safetensors file of random float32 weights
    and a config), each with ~5% of the weights rewritten from the one before."""
    import numpy as np

    from blacklake_ml.demo import safetensors_bytes

    rng = random.Random(seed)
    weights = np.frombuffer(os.urandom(size // 4 * 4), dtype=np.float32)
    data = bytearray(safetensors_bytes({"weight": weights}))
    first = 8 + int.from_bytes(data[:8], "little")  # the header stays as it is
    out = []
    for v in range(versions):
        if v:
            c.rewrite_regions(data, rng, start=first)
        d = root / f"ckpt-{v}"
        d.mkdir(parents=True)
        (d / "model.safetensors").write_bytes(data)
        (d / "config.json").write_text(f'{{"step": {v * 1000}}}')
        out.append(d)
    return out


def main() -> int:
    """Run the benchmark; print a table and one JSON line."""
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--mib", type=int, default=None, help="checkpoint MiB (default 128)")
    p.add_argument("--versions", type=int, default=None, help="runs (default 5)")
    args = p.parse_args()
    c.print_load("at start")
    size = (args.mib or (8 if args.quick else 128)) * c.MiB
    versions = args.versions or (3 if args.quick else 5)
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"

    with c.workdir(args, "mlflow-artifacts") as wd:
        os.environ["BLACKLAKE_HOME"] = str(wd / "home")
        import mlflow

        from blacklake_ml import Store
        from blacklake_ml.integrations.mlflow import session

        store = Store.open(wd / "home")
        store.create_repo("models")
        ckpts = checkpoint_versions(wd / "src", size, versions)
        mlflow.set_tracking_uri(f"sqlite:///{wd / 'mlflow.db'}")
        exps = {
            "blacklake": mlflow.create_experiment("bl", artifact_location="blacklake://models/main/mlflow"),
            "directory": mlflow.create_experiment("dir", artifact_location=(wd / "mlruns").as_uri()),
        }
        times: dict[str, list[float]] = {k: [] for k in exps}
        last_uri: dict[str, str] = {}
        for v, ckpt in enumerate(ckpts):
            c.warm(*ckpt.iterdir())
            for side in c.rotated(list(exps), v):
                with mlflow.start_run(experiment_id=exps[side]) as run:
                    c.settle()
                    t0 = time.perf_counter()
                    mlflow.log_artifacts(str(ckpt), "checkpoint")
                    times[side].append(time.perf_counter() - t0)
                    last_uri[side] = f"{run.info.artifact_uri}/checkpoint"
        download: dict[str, float] = {}
        for side in exps:
            dst = wd / f"dl-{side}"
            c.settle()
            t0 = time.perf_counter()
            mlflow.artifacts.download_artifacts(last_uri[side], dst_path=str(dst))
            download[side] = time.perf_counter() - t0
            got = (dst / "checkpoint" / "model.safetensors").read_bytes()
            assert got == (ckpts[-1] / "model.safetensors").read_bytes(), side
        dir_bytes = c.tree_bytes(wd / "mlruns")
        stored = int(store.stats("models")["stored_bytes"])
        commits = len(store.repo("models").log("main")) - 1
        store.close()
        session.close_stores()
        shutil.rmtree(wd / "src", ignore_errors=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    c.table([["log_artifacts, median of runs", med["directory"], med["blacklake"],
              med["blacklake"] / med["directory"]],
             ["download_artifacts of the last", download["directory"], download["blacklake"],
              download["blacklake"] / download["directory"]],
             ["bytes kept for all versions", dir_bytes, stored, stored / max(dir_bytes, 1)]],
            ["what", "file:// directory", "blacklake://", "blacklake / directory"],
            f"{versions} runs logging a {size // c.MiB} MiB checkpoint (~5% changed each)")
    print(f"BlackLake commits made: {commits} (one per log_artifacts call)")
    c.print_load("at end")
    c.emit({
        "benchmark": "mlflow_artifacts", "quick": args.quick, "size_bytes": size,
        "versions": versions, "times_s": times, "median_s": med, "download_s": download,
        "ratio_log": med["blacklake"] / med["directory"],
        "ratio_download": download["blacklake"] / download["directory"],
        "directory_bytes": dir_bytes, "blacklake_stored_bytes": stored,
        "storage_ratio": stored / max(dir_bytes, 1), "commits": commits,
        "env": c.environment(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
