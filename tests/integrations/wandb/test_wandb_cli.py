"""``blacklake wandb export|import`` (offline W&B runs) and what ``--help`` must not load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from wandb_support import FakeApi, download_layout, run_records, sample_files

from blacklake_ml.cli.main import cli
from blacklake_ml.gateway import Gateway
from blacklake_ml.integrations.wandb import artifact_key, predict_digest

BERT = {k[len("bert/"):]: v for k, v in sample_files().items() if k.startswith("bert/")}


def bl(home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)


def artifacts_in(sync_dir: str) -> list[Any]:
    return [r.artifact for r in run_records(sync_dir)
            if r.WhichOneof("record_type") == "artifact"]


def test_export_by_files(home: Path, store: Any) -> None:
    predicted = predict_digest(store, "blacklake://models/main/bert")
    r = bl(home, "wandb", "export", "blacklake://models/main/bert", "--name", "bert-cli",
           "--alias", "best", "--project", "cli-proj", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["digest"] == doc["predicted_digest"] == predicted
    assert (doc["artifact"], doc["type"], doc["mode"], doc["files"]) == \
        ("bert-cli", "model", "files", 3)
    assert doc["logged"] and doc["run"]["project"] == "cli-proj"
    assert doc["paths"] == sorted(BERT)
    # The offline run is on disk for `wandb sync`, holding the artifact with that digest.
    [rec] = artifacts_in(doc["sync_dir"])
    assert (rec.name, rec.digest) == ("bert-cli", predicted)
    assert set(rec.aliases) >= {"best", "latest"}
    assert doc["lineage"] == artifact_key("bert-cli", predicted)
    g = store.lineage.graph(doc["lineage"], depth=1)
    assert (f"run:wandb:{doc['run']['id']}", doc["lineage"], "produced") in \
        {(e["source"], e["target"], e["kind"]) for e in g["edges"]}


def test_export_human_output(home: Path, store: Any) -> None:
    r = bl(home, "wandb", "export", "blacklake://models/main/data/train.csv", "--type",
           "dataset")
    assert r.exit_code == 0, r.output
    assert "artifact models-train.csv (dataset, files): 1 files" in r.stdout
    digest = predict_digest(store, "blacklake://models/main/data/train.csv")
    assert f"digest {digest} (predicted {digest})" in r.stdout
    assert "wandb sync" in r.stderr


def test_export_by_references_to_a_running_gateway(home: Path, store: Any,
                                                   gateway: Gateway) -> None:
    r = bl(home, "wandb", "export", "blacklake://models/main/bert", "--references",
           "--gateway-url", gateway.url, "--gateway-token", gateway.token, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["mode"] == "references"
    assert doc["digest"] == predict_digest(store, "blacklake://models/main/bert")
    [rec] = artifacts_in(doc["sync_dir"])
    assert all(c.ref.startswith(gateway.url + "/files/models/") for c in rec.manifest.contents)


@pytest.mark.parametrize(("args", "message"), [
    (["--references"], "--references needs --gateway-url and --gateway-token"),
    (["--references", "--gateway-url", "http://127.0.0.1:1"], "--gateway-token"),
    (["--gateway-url", "http://127.0.0.1:1"], "only go with --references"),
    (["--references", "--gateway-url", "ftp://x", "--gateway-token", "t"], "gateway URL"),
    (["--name", "a/b"], "invalid W&B artifact name"),
    (["--type", "wandb-x"], "invalid W&B artifact type"),
])
def test_export_bad_options_fail_before_any_run(home: Path, store: Any, wandb_env: Path,
                                                args: list[str], message: str) -> None:
    runs = set((wandb_env / "wandb_dir").rglob("offline-run-*"))
    r = bl(home, "wandb", "export", "blacklake://models/main/bert", *args)
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and message in r.stderr
    assert set((wandb_env / "wandb_dir").rglob("offline-run-*")) == runs


def test_export_of_a_missing_path(home: Path, store: Any, wandb_env: Path) -> None:
    runs = set((wandb_env / "wandb_dir").rglob("offline-run-*"))
    r = bl(home, "wandb", "export", "blacklake://models/main/nope")
    assert r.exit_code == 3 and "nope" in r.stderr
    assert set((wandb_env / "wandb_dir").rglob("offline-run-*")) == runs


def _download_dir(store: Any, tmp_path: Path) -> tuple[Path, str]:
    import wandb

    art = wandb.Artifact("trained", type="model")
    for rel, data in BERT.items():
        p = tmp_path / "src" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        art.add_file(str(p), name=rel)
    return download_layout(art, tmp_path / "artifacts" / "trained:v2"), str(art.digest)


def test_import(home: Path, store: Any, tmp_path: Path) -> None:
    root, digest = _download_dir(store, tmp_path)
    r = bl(home, "wandb", "import", str(root), "fresh/main/bert", "--create", "--type",
           "model", "--digest", digest, "--run-id", "abc123", "--run-name", "lucky-run",
           "--project", "p", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["created"] and doc["files"] == 3 and doc["digest"] == digest
    assert (doc["artifact"], doc["run"]) == ("p/trained:v2", "abc123")
    meta = store.repo("fresh").log("main", limit=1)[0].meta
    assert meta["wandb.run_name"] == "lucky-run" and meta["wandb.type"] == "model"
    r = bl(home, "wandb", "import", str(root), "fresh/main/bert")
    assert r.exit_code == 0 and r.stdout.startswith("already there: trained:v2")


def test_import_tampered(home: Path, store: Any, tmp_path: Path) -> None:
    root, _ = _download_dir(store, tmp_path)
    (root / "config.json").write_bytes(b'{"hidden_size": 65}\n')
    before = store.repo("models").resolve("main")
    r = bl(home, "wandb", "import", str(root), "models/main/x", "--json")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.startswith("blacklake: error: 1 file(s) do not match the W&B manifest")
    assert "config.json" in r.stderr and r.stderr.count("\n") == 1
    assert store.repo("models").resolve("main") == before


@pytest.mark.parametrize(("args", "code", "message"), [
    (["nosuch/main"], 3, "no repository 'nosuch'"),
    (["models/main", "--manifest", "/nonexistent.json"], 3, "no W&B manifest"),
    (["models/main", "--run-name", "x"], 2, "--run-name needs --run-id"),
    (["models/main", "--from-api", "--name", "x"], 2, "--name"),
    (["models/main", "--name", "bad name"], 2, "invalid W&B artifact name"),
    (["models/main/../x"], 2, ".."),
])
def test_import_bad_input(home: Path, store: Any, tmp_path: Path, args: list[str], code: int,
                          message: str) -> None:
    root, _ = _download_dir(store, tmp_path)
    r = bl(home, "wandb", "import", str(root), *args)
    assert r.exit_code == code, r.output
    assert message in r.stderr and r.stderr.count("\n") == 1


def test_import_from_api(home: Path, store: Any, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    import wandb

    art = wandb.Artifact("bert", type="model")
    for rel, data in BERT.items():
        p = tmp_path / "src" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        art.add_file(str(p), name=rel)
    monkeypatch.setattr(wandb, "Api", lambda *a, **k: FakeApi({"team/proj/bert:v3": art}))
    r = bl(home, "wandb", "import", "team/proj/bert:v3", "models/main/api", "--from-api",
           "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert (doc["artifact"], doc["run"], doc["digest"]) == ("team/proj/bert:v3", "run42abc",
                                                           art.digest)


def test_help_does_not_import_wandb() -> None:
    code = ("import sys; from blacklake_ml.cli.main import cli\n"
            "try:\n    cli.main(['wandb', 'export', '--help'], standalone_mode=False)\n"
            "except SystemExit:\n    pass\n"
            "cli.main(['--help'], standalone_mode=False)\n"
            "assert 'wandb' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "--references" in out.stdout
