"""``blacklake lab`` (argument handling, the workspace that opens the panel, a real start of
JupyterLab) and the demo store it seeds (``blacklake_ml.demo``)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from blacklake_ml.cli import lab_cmds
from blacklake_ml.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture(autouse=True)
def isolated_jupyter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Workspaces, config and HOME under tmp_path: nothing touches the user's Jupyter."""
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.setenv("JUPYTERLAB_WORKSPACES_DIR", str(tmp_path / "workspaces"))
    monkeypatch.delenv("BLACKLAKE_HOME", raising=False)
    return tmp_path / "workspaces"


# -- argument handling (--dry-run) ------------------------------------------------------------
def test_dry_run_prints_the_command(tmp_path: Path) -> None:
    home = tmp_path / "store"
    code, out, err = run("lab", "--demo", "--home", str(home), "--dry-run")
    assert code == 0, err
    line = out.splitlines()[0]
    assert line.startswith(f"BLACKLAKE_HOME={home} ")
    assert f" -m jupyterlab --LabApp.default_url=/lab/workspaces/{lab_cmds.WORKSPACE} " in line
    assert f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}" in line
    assert not home.exists() and not (tmp_path / "workspaces").exists()  # changed nothing


def test_dry_run_json_options_and_passthrough(tmp_path: Path) -> None:
    code, out, _ = run("lab", "--home", str(tmp_path / "h"), "--port", "9123", "--no-browser",
                       "--dry-run", "--json", "--allow-root", "--ServerApp.root_dir=/srv/nb")
    assert code == 0
    doc = json.loads(out)
    assert doc["argv"][:3] == [sys.executable, "-m", "jupyterlab"]
    assert doc["argv"][3:] == ["--LabApp.default_url=/lab/workspaces/blacklake",
                               f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
                               "--ServerApp.port=9123", "--no-browser", "--allow-root",
                               "--ServerApp.root_dir=/srv/nb"]
    assert doc["env"] == {"BLACKLAKE_HOME": str(tmp_path / "h")}
    assert (doc["panel"], doc["workspace"], doc["demo"]) == ("blacklake-ml-panel",
                                                              "blacklake", False)
    assert doc["url_path"] == "/lab/workspaces/blacklake"


def test_reports_whether_the_panel_extension_is_installed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blacklake_ml.cli import lab_cmds

    dev = tmp_path / "labextensions"
    (dev / "blacklake-ml").mkdir(parents=True)
    (dev / "blacklake-ml" / "package.json").write_text('{"name": "blacklake-ml"}')
    # Jupyter's own search path is pinned to empty dirs, so only what the test adds can be
    # found, whether or not this environment has the panel installed.
    import jupyter_core.paths

    monkeypatch.setattr(jupyter_core.paths, "jupyter_path",
                        lambda *_a, **_k: [str(tmp_path / "none")])
    assert lab_cmds.find_labextension((str(dev),)) == str(dev / "blacklake-ml")
    assert lab_cmds.find_labextension(()) is None
    # the CLI reports a development build passed as an extra path, with no note ...
    _, out, _ = run("lab", "--dry-run", "--json", f"--LabApp.extra_labextensions_path={dev}")
    doc = json.loads(out)
    assert doc["labextension"] == str(dev / "blacklake-ml") and doc["notes"] == []
    # ... and says so when the panel is nowhere Jupyter looks
    _, out, _ = run("lab", "--dry-run", "--json")
    doc = json.loads(out)
    assert doc["labextension"] is None and "not installed" in doc["notes"][0]


def test_which_store_lab_gets(tmp_path: Path) -> None:
    def env_of(*args: str, env: dict[str, str] | None = None) -> dict[str, str]:
        code, out, err = run(*args, "--dry-run", "--json", env=env)
        assert code == 0, err
        return json.loads(out)["env"]

    # lab --home beats the global --home, which beats BLACKLAKE_HOME
    assert env_of("--home", str(tmp_path / "g"), "lab", "--home", str(tmp_path / "l")) == \
        {"BLACKLAKE_HOME": str(tmp_path / "l")}
    assert env_of("--home", str(tmp_path / "g"), "lab")["BLACKLAKE_HOME"] == str(tmp_path / "g")
    assert env_of("lab", env={"BLACKLAKE_HOME": str(tmp_path / "e")})["BLACKLAKE_HOME"] == \
        str(tmp_path / "e")
    # no choice made: the default store, but --demo never seeds the everyday store
    assert env_of("lab")["BLACKLAKE_HOME"] == str(tmp_path / "user" / ".blacklake")
    assert env_of("lab", "--demo")["BLACKLAKE_HOME"] == str(tmp_path / "user" /
                                                            ".blacklake-demo")
    # storage and catalog options reach the server and kernels too
    assert env_of("--storage", "s3://b/p", "--catalog", "sqlite:////x.db", "lab") == {
        "BLACKLAKE_HOME": str(tmp_path / "user" / ".blacklake"),
        "BLACKLAKE_STORAGE": "s3://b/p", "BLACKLAKE_CATALOG": "sqlite:////x.db"}


def test_bad_arguments_are_one_line_errors() -> None:
    code, _, err = run("lab", "--port", "0", "--dry-run")
    assert code == 2 and err.count("\n") == 1 and "--port" in err
    code, _, err = run("lab", "--port", "http", "--dry-run")
    assert code == 2 and err.startswith("blacklake: error:")


def test_missing_jupyterlab_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = lab_cmds.importlib.util.find_spec
    monkeypatch.setattr(lab_cmds.importlib.util, "find_spec",
                        lambda name, *a: None if name == "jupyterlab" else real(name, *a))
    code, _, err = run("lab", "--no-browser")
    assert code == 9
    assert err.strip() == ("blacklake: error: blacklake lab (JupyterLab) needs an optional "
                           "dependency: pip install 'blacklake-ml[jupyter]'")


# -- the workspace that opens the panel ---------------------------------------------------------
def test_panel_id_matches_the_frontend() -> None:
    index = ROOT / "extension" / "src" / "index.ts"
    if not index.exists():
        pytest.skip("no extension/ in this tree")
    src = index.read_text()
    assert f"restorer.add(sidebar, '{lab_cmds.PANEL_ID}')" in src
    package = json.loads((ROOT / "extension" / "package.json").read_text())
    assert package["name"] == lab_cmds.LABEXTENSION


def test_workspace_keeps_the_users_layout(isolated_jupyter: Path) -> None:
    path = lab_cmds.write_workspace(isolated_jupyter)
    doc = json.loads(path.read_text())
    assert doc["metadata"]["id"] == "/blacklake"
    assert doc["data"]["layout-restorer:data"]["left"] == {
        "collapsed": False, "visible": True, "current": "blacklake-ml-panel"}
    # Lab saved a layout with open tabs and another side panel; the next start keeps it all
    # but puts the BlackLake panel back in front
    doc["data"]["layout-restorer:data"]["main"] = {"dock": {"type": "tab-area",
                                                            "widgets": ["notebook:a.ipynb"]}}
    doc["data"]["layout-restorer:data"]["left"].update(current="filebrowser", collapsed=True,
                                                       widgets=["filebrowser"])
    doc["data"]["notebook:a.ipynb"] = {"data": {"path": "a.ipynb"}}
    path.write_text(json.dumps(doc))
    assert lab_cmds.write_workspace(isolated_jupyter) == path
    again = json.loads(path.read_text())["data"]
    assert again["notebook:a.ipynb"] == {"data": {"path": "a.ipynb"}}
    assert again["layout-restorer:data"]["main"]["dock"]["widgets"] == ["notebook:a.ipynb"]
    assert again["layout-restorer:data"]["left"] == {
        "collapsed": False, "visible": True, "current": "blacklake-ml-panel",
        "widgets": ["filebrowser"]}
    path.write_text("{not json")  # a damaged file is replaced, not fatal
    lab_cmds.write_workspace(isolated_jupyter)
    assert json.loads(path.read_text())["data"]["layout-restorer:data"]["left"]["current"] \
        == "blacklake-ml-panel"


def test_lab_demo_seeds_writes_the_workspace_and_execs(tmp_path: Path,
                                                       isolated_jupyter: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr(lab_cmds, "_exec", lambda argv, env: calls.append((argv, env)))
    home = tmp_path / "demo"
    code, _, err = run("lab", "--demo", "--home", str(home), "--no-browser")
    assert code == 0, err
    assert "seeded demo-classifier, demo-reviews" in err
    (argv, env), = calls
    assert argv[1:4] == ["-m", "jupyterlab", "--LabApp.default_url=/lab/workspaces/blacklake"]
    assert "--no-browser" in argv and env["BLACKLAKE_HOME"] == str(home)
    assert env["PATH"] == os.environ["PATH"]  # the rest of the environment is passed on
    workspace, = isolated_jupyter.glob("blacklake*.jupyterlab-workspace")
    assert json.loads(workspace.read_text())["data"]["layout-restorer:data"]["left"][
        "current"] == "blacklake-ml-panel"
    from blacklake_ml import Store
    from blacklake_ml.demo import REPOS

    with Store.open(home) as store:
        assert {r.name for r in store.list_repos()} == set(REPOS)
    # again: nothing to seed
    code, _, err = run("lab", "--demo", "--home", str(home), "--no-browser")
    assert code == 0 and "already seeded" in err and len(calls) == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str, dict[str, str]]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


@pytest.mark.slow
def test_lab_really_starts_on_the_workspace(tmp_path: Path, isolated_jupyter: Path) -> None:
    if not os.environ.get("CI"):
        pytest.importorskip("jupyterlab")
    port, token = free_port(), "blacklake-test-token"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    args = [sys.executable, "-m", "blacklake_ml.cli.main", "lab", "--home",
            str(tmp_path / "store"), "--no-browser", "--port", str(port),
            f"--IdentityProvider.token={token}", "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port_retries=0", f"--ServerApp.root_dir={tmp_path}"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if get(f"{base}/api/status?token={token}")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "lab.log").read_text()
            time.sleep(0.3)
        status, _, headers = get(f"{base}/?token={token}")
        assert status == 302 and headers["Location"].startswith("/lab/workspaces/blacklake")
        status, body, _ = get(f"{base}/lab/api/workspaces/blacklake?token={token}")
        assert status == 200
        assert json.loads(body)["data"]["layout-restorer:data"]["left"]["current"] == \
            "blacklake-ml-panel"
        assert get(f"{base}/lab/workspaces/blacklake?token={token}")[0] == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# -- the demo store -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from blacklake_ml import Store
    from blacklake_ml.demo import seed

    store = Store.open(tmp_path_factory.mktemp("demo"))
    first = seed(store, checkpoint_mib=1)
    store.first_seed = first  # type: ignore[attr-defined]
    yield store
    store.close()


def test_demo_contents(demo: Any) -> None:
    from blacklake_ml.demo import REPOS

    assert demo.first_seed == {"seeded": True, "repos": list(REPOS), "created": list(REPOS)}
    assert {r.name for r in demo.list_repos()} == set(REPOS)
    # the original demo keeps its shape (tests and the Lab UI tests rely on it)
    clf = demo.repo("demo-classifier")
    assert [b.name for b in clf.branches()] == ["finetune-de", "main"]
    assert [t.name for t in clf.tags()] == ["v1.0"]
    assert [c.message.split(":")[0] for c in clf.log("main")][:4] == [
        "epoch 4", "epoch 3", "epoch 2", "epoch 1"]
    assert {e["path"] for e in demo.repo("demo-reviews").ls("main")} == {
        "README.md", "train.csv", "test.csv"}
    # a real scikit-learn model (skops) and its ONNX conversion, with a lifecycle
    iris = demo.repo("demo-iris")
    assert {e["path"] for e in iris.ls("main")} == {"README.md", "model.skops", "model.onnx"}
    assert [v.name for v in iris.lifecycle.versions()] == ["v1.0.0", "v1.1.0"]
    assert iris.resolve("champion") == iris.resolve("v1.1.0")
    assert {d.environment: d.label for d in iris.lifecycle.deployments()} == {
        "prod": "v1.0.0", "staging": "v1.1.0"}
    assert "experiment" in [b.name for b in iris.branches()]
    import onnx

    model = onnx.load_from_string(iris.read_bytes("v1.0.0", "model.onnx"))
    onnx.checker.check_model(model)
    assert model.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 4
    # a tiny Hugging Face folder (config.json + safetensors) and its fine-tune
    from safetensors.numpy import load

    text = demo.repo("demo-text")
    assert {e["path"] for e in text.ls("main", "tiny-bert")} == {
        "tiny-bert/README.md", "tiny-bert/config.json", "tiny-bert/model.safetensors",
        "tiny-bert/vocab.txt"}
    config = json.loads(text.read_bytes("main", "tiny-bert/config.json"))
    tensors = load(text.read_bytes("main", "tiny-bert/model.safetensors"))
    assert tensors["bert.embeddings.word_embeddings.weight"].shape == (
        config["vocab_size"], config["hidden_size"])
    tuned = load(demo.repo("demo-sentiment-de").read_bytes("main", "model.safetensors"))
    assert tuned["classifier.weight"].shape == (2, config["hidden_size"])
    assert (tuned["bert.embeddings.word_embeddings.weight"] ==
            tensors["bert.embeddings.word_embeddings.weight"]).all()  # frozen
    # datasets: CSV and Parquet
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(demo.repo("demo-iris-data").read_bytes(
        "main", "iris.parquet")))
    assert table.num_rows == 150 and "species" in table.column_names


def test_demo_seed_is_idempotent(demo: Any) -> None:
    from blacklake_ml.demo import REPOS, seed

    before = {name: [c.id for c in demo.repo(name).log("main")] for name in REPOS}
    assert seed(demo, checkpoint_mib=1) == {"seeded": False, "repos": list(REPOS),
                                            "created": []}
    assert {name: [c.id for c in demo.repo(name).log("main")] for name in REPOS} == before


def test_search_finds_the_demo_models(demo: Any) -> None:
    def top(query: str, **kw: Any) -> str:
        return demo.search(query, mode="bm25", k=3, **kw)[0].uri

    assert top("iris species classifier").startswith("blacklake://demo-iris/")
    assert top("German review sentiment") == "blacklake://demo-sentiment-de/main"
    assert top("tiny bert fill mask").startswith("blacklake://demo-text/")
    assert top("iris flower measurements", filters={"kind": "dataset"}) == \
        "blacklake://demo-iris-data/main"
    assert {h.repo for h in demo.search("classifier", mode="bm25",
                                    filters=["framework=sklearn"])
            } == {"demo-iris"}
    hits = demo.search("a small German sentiment model")  # hybrid: embeddings too
    assert hits[0].uri == "blacklake://demo-sentiment-de/main"
    related = {h.uri: h.relation for h in demo.similar(
        "blacklake://demo-sentiment-de/main/model.safetensors")}
    assert related["blacklake://demo-text/main/tiny-bert/model.safetensors"] == "shares-chunks"
    assert "base-model" in related.values()


OPTIONAL = ("sklearn", "skops", "skl2onnx", "onnx", "safetensors", "pyarrow")


def block(monkeypatch: pytest.MonkeyPatch, *packages: str) -> None:
    """Make importing ``packages`` (and their loaded submodules) raise ImportError."""
    for name in [m for m in sys.modules if m.split(".")[0] in packages] + list(packages):
        monkeypatch.setitem(sys.modules, name, None)


def test_demo_fallbacks_without_optional_libraries(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from blacklake_ml import Store
    from blacklake_ml.demo import REPOS, safetensors_bytes, seed

    tensors = {"b": np.arange(3, dtype=np.float32), "a": np.ones((2, 2), np.float32)}
    with_lib = safetensors_bytes(tensors)
    block(monkeypatch, "safetensors")
    by_hand = safetensors_bytes(tensors)
    monkeypatch.undo()
    from safetensors.numpy import load

    assert {k: v.tolist() for k, v in load(by_hand).items()} == \
        {k: v.tolist() for k, v in load(with_lib).items()}
    block(monkeypatch, *OPTIONAL)
    with Store.open(tmp_path / "bare") as store:
        # an old demo store: the two original repositories exist already
        store.create_repo("demo-reviews")
        out = seed(store, checkpoint_mib=1)
        assert out["created"] == [r for r in REPOS if r != "demo-reviews"]
        assert {e["path"] for e in store.repo("demo-iris").ls("main")} == {"README.md"}
        assert {e["path"] for e in store.repo("demo-iris-data").ls("main")} == {
            "README.md", "iris.csv"}
        assert store.repo("demo-text").read_bytes("main", "tiny-bert/model.safetensors")
        assert store.search("German review sentiment", mode="bm25")[0].uri == \
            "blacklake://demo-sentiment-de/main"


def test_failed_seed_leaves_no_half_repository(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from blacklake_ml import Store, demo

    def broken(store: Any) -> None:
        store.create_repo("demo-reviews")
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "_seed_reviews", broken)
    with Store.open(tmp_path / "s") as store:
        with pytest.raises(RuntimeError, match="disk full"):
            demo.seed(store, checkpoint_mib=1)
        assert [r.name for r in store.list_repos()] == ["demo-classifier"]


def test_demo_module_entry_point(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "blacklake_ml.demo", "--home",
                          str(tmp_path / "m"), "--checkpoint-mib", "1"],
                         check=False, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().startswith("seeded demo-classifier, demo-reviews, ")
