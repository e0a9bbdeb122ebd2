"""A real ``mlflow server`` proxying artifacts into BlackLake
(``--artifacts-destination blacklake://…``), with a client logging and downloading through it.

Only the server has the plugin's store (``BLACKLAKE_HOME`` in its environment); the client
talks HTTP. The server reads run ids off the artifact paths and looks runs up in its own
backend store, so commits carry the run id and lineage is recorded by the server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pytest

pytestmark = pytest.mark.slow
DESTINATION = "blacklake://models/main/served"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(store: Any, home: Path, mlflow_db_file: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    db = tmp_path / "server.db"
    shutil.copy(mlflow_db_file, db)  # already migrated: the server starts in seconds
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    env.update(BLACKLAKE_HOME=str(home), BLACKLAKE_FSYNC="0", MLFLOW_DISABLE_TELEMETRY="true")
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{db}",
         "--artifacts-destination", DESTINATION, "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.3)
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        mlflow.set_tracking_uri(url)
        yield url
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        # the server and the uvicorn worker it spawned: the process group we started
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_tracking_server_proxies_artifacts_into_blacklake(server: str, store: Any,
                                                          tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    exp = mlflow.create_experiment("served")
    assert mlflow.get_experiment(exp).artifact_location.startswith("mlflow-artifacts:")
    src = tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    files = {"a.txt": b"alpha", "sub/b.bin": os.urandom(200_000)}
    for rel, data in files.items():
        (src / rel).write_bytes(data)
    x = np.random.default_rng(3).random((30, 2))
    model = LogisticRegression().fit(x, (x[:, 1] > 0.5).astype(int))
    repo = store.repo("models")
    start = repo.branch_head("main")
    with mlflow.start_run(experiment_id=exp) as run:
        mlflow.log_artifact(str(src / "a.txt"), "single")
        mlflow.log_artifacts(str(src), "many")
        info = mlflow.sklearn.log_model(model, name="clf", pip_requirements=["scikit-learn"])
    rid = run.info.run_id
    run_root = f"served/{exp}/{rid}/artifacts"
    model_root = f"served/{exp}/models/{info.model_id}/artifacts"
    assert repo.read_bytes("main", f"{run_root}/single/a.txt") == b"alpha"
    assert repo.read_bytes("main", f"{run_root}/many/sub/b.bin") == files["sub/b.bin"]
    model_files = {e["path"].rsplit("/", 1)[-1] for e in repo.ls("main", model_root)}
    assert "MLmodel" in model_files
    new = [c for c in repo.log("main") if c.id != start]
    new = new[:[c.id for c in repo.log("main")].index(start)]
    # through the proxy MLflow uploads file by file: one commit per file (documented)
    assert len(new) == 1 + len(files) + len(model_files)
    assert {c.meta["mlflow.run_id"] for c in new} == {rid}
    assert {c.meta["mlflow.experiment_id"] for c in new} == {exp}
    assert {c.meta.get("mlflow.model_id") for c in new} == {None, info.model_id}

    # reading back through the server
    out = mlflow.artifacts.download_artifacts(run_id=rid, artifact_path="many",
                                              dst_path=str(tmp_path / "dl"))
    assert {str(p.relative_to(out)): p.read_bytes() for p in Path(out).rglob("*")
            if p.is_file()} == files
    listed = mlflow.MlflowClient().list_artifacts(rid, "many")
    assert sorted((a.path, a.is_dir) for a in listed) == [("many/a.txt", False),
                                                          ("many/sub", True)]
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    assert (loaded.predict(x) == model.predict(x)).all()

    # the server recorded the run's lineage (it looked the run up in its backend store)
    g = store.lineage.graph(f"run:mlflow:{rid}", depth=1)
    outs = {e["target"].split("/", 4)[-1] for e in g["edges"] if e["kind"] == "produced"}
    assert f"{run_root}/single/a.txt" in outs and f"{model_root}/MLmodel" in outs
    node = next(n for n in g["nodes"] if n["id"] == f"run:mlflow:{rid}")
    assert node["facets"]["experiment"] == "served"
