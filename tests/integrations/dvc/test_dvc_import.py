"""Importing a real git + DVC project's history (``import_project``, ``blacklake dvc import``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from dvc_support import Project, commit, dvc, git

from blacklake_ml import Store
from blacklake_ml.cli.main import cli
from blacklake_ml.core.progress import Progress
from blacklake_ml.errors import (
    ConflictError,
    CorruptObject,
    InvalidInput,
    PathNotFound,
    RefNotFound,
    RepoNotFound,
)
from blacklake_ml.integrations.dvc import DvcRemote, import_project
from blacklake_ml.integrations.dvc.importer import GIT_COMMIT_KEY

IMPORTED = ["add raw data", "train model", "more data"]


def stored_files(store: Store, repo: str, ref: str) -> dict[str, bytes]:
    r = store.repo(repo)
    return {e["path"]: r.read_bytes(ref, e["path"]) for e in r.ls(ref, recursive=True)}


class CountingProgress(Progress):
    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0
        self.unit = ""

    def start(self, total: int | None, unit: str = "B", description: str = "") -> None:
        self.total, self.unit = total, unit

    def advance(self, amount: int) -> None:
        self.done += amount


def test_import_history_files_metadata_and_lineage(project: Project, store: Store) -> None:
    progress = CountingProgress()
    report = import_project(store, project.path, "demo", progress=progress)

    # one BlackLake commit per git commit that changed .dvc files or dvc.lock
    assert [c.message for c in report.imported] == IMPORTED
    assert report.skipped == 2  # "init" and "docs"
    assert (progress.total, progress.done, progress.unit) == (5, 5, "commits")
    repo = store.repo("demo")
    log = repo.log("main")
    assert [row.message for row in log] == [*reversed(IMPORTED), "Initialize repository"]

    for row, message in zip(reversed(log[:-1]), IMPORTED):
        # byte-identical files, exactly the tracked set of that git commit
        assert stored_files(store, "demo", row.id) == project.expected[message]
        assert row.meta[GIT_COMMIT_KEY] == project.shas[message]
        assert row.meta["dvc.project"] == str(project.path)
        assert row.meta["source"] == "dvc-import"
    by_msg = {row.message: row for row in log}
    assert by_msg["add raw data"].author == "Alice <alice@example.com>"
    assert by_msg["add raw data"].meta["git.author_date"] == "2024-01-02T10:00:00+00:00"
    assert by_msg["add raw data"].time == "2024-01-02T10:00:00.000000Z"  # the git date kept
    assert by_msg["train model"].author == "Bob <bob@example.com>"
    assert by_msg["train model"].meta["git.commit_date"] == "2024-01-03T11:00:00+00:00"
    assert by_msg["more data"].meta["git.committer"] == "Alice <alice@example.com>"
    more = report.imported[2]
    assert (more.added, more.modified, more.deleted) == (0, 2, 1)  # raw.csv, model; 2.bin

    # the MD5 <-> content mapping is cached for every imported file
    d = repo.digests("main", "data/raw.csv")
    assert store.catalog.get_blob(d["id"]).md5 is not None  # type: ignore[union-attr]

    # lineage: deps --consumed--> stage --produced--> outs, per run of the stage
    assert report.imported[1].stages == ["train"]
    assert report.imported[2].stages == ["train"]
    train_commit = by_msg["train model"].id
    g = store.lineage.graph(f"blacklake://demo/{train_commit}/model/model.bin", depth=2)
    run_key = f"run:dvc:{project.shas['train model']}:train"
    nodes = {n["id"]: n for n in g["nodes"]}
    assert nodes[run_key]["kind"] == "run"
    assert nodes[run_key]["facets"]["type"] == "stage"
    assert nodes[run_key]["facets"]["cmd"] == "python train.py"
    edges = {(e["source"], e["target"], e["kind"]) for e in g["edges"]}
    model = f"blacklake://demo/{train_commit}/model/model.bin"
    assert (run_key, model, "produced") in edges
    consumed = {s for s, t, k in edges if t == run_key and k == "consumed"}
    assert f"blacklake://demo/{train_commit}/data/raw.csv" in consumed
    assert f"blacklake://demo/{train_commit}/data/images" in consumed
    assert nodes[f"blacklake://demo/{train_commit}/data/images"]["kind"] == "directory"
    code = [k for k in consumed if k.startswith("file://") and "train.py#md5=" in k]
    params = [k for k in consumed if "params.yaml#params=" in k]
    assert len(code) == 1 and nodes[code[0]]["kind"] == "file"
    assert len(params) == 1 and nodes[params[0]]["facets"]["params"] == {"lr": 0.1}
    # the re-run of "more data" is its own stage run, fed by the new data
    more_commit = by_msg["more data"].id
    up = store.lineage.upstream(f"blacklake://demo/{more_commit}/model/model.bin", depth=1)
    assert {n["id"] for n in up["nodes"] if n["kind"] == "run"} == \
        {f"run:dvc:{project.shas['more data']}:train"}
    # the unchanged script is one node consumed by both runs
    down = store.lineage.downstream(code[0], depth=1)
    assert {n["id"] for n in down["nodes"] if n["kind"] == "run"} == \
        {run_key, f"run:dvc:{project.shas['more data']}:train"}


def test_reimport_imports_only_new_commits(project: Project, store: Store) -> None:
    first = import_project(store, project.path, "demo")
    assert len(first.imported) == 3
    again = import_project(store, project.path, "demo")
    assert again.imported == [] and again.resumed_from == project.shas["more data"]
    heads_before = store.repo("demo").branch_head("main")
    assert store.repo("demo").branch_head("main") == heads_before

    (project.path / "data" / "images" / "9.bin").write_bytes(b"new image" * 100)
    dvc(project.path, "add", "-q", "data/images")
    dvc(project.path, "repro", "-q")
    sha = commit(project.path, "one more image", "Bob", "2024-02-01T08:00:00+00:00")
    report = import_project(store, project.path, "demo")
    assert [c.git_commit for c in report.imported] == [sha]
    assert report.resumed_from == project.shas["more data"]
    assert report.skipped == 1  # "docs", examined again, still no DVC change
    log = store.repo("demo").log("main")
    assert len(log) == 5 and log[0].message == "one more image"
    assert log[1].id == heads_before
    files = stored_files(store, "demo", "main")
    assert files["data/images/9.bin"] == b"new image" * 100
    assert files["model/model.bin"] == (project.path / "model" / "model.bin").read_bytes()
    assert report.imported[0].stages == ["train"]


def test_rewritten_history_is_refused(project: Project, store: Store) -> None:
    import_project(store, project.path, "demo", rev_range="main~1")
    head = store.repo("demo").branch_head("main")
    git(project.path, "reset", "-q", "--hard", project.shas["train model"])
    git(project.path, "commit", "-q", "--amend", "-m", "train model (amended)")
    with pytest.raises(ConflictError, match="rewritten"):
        import_project(store, project.path, "demo")
    assert store.repo("demo").branch_head("main") == head
    # into a fresh branch the new history imports fine
    report = import_project(store, project.path, "demo", target_branch="rewritten")
    assert [c.message for c in report.imported] == ["add raw data", "train model (amended)"]


def test_rev_range_limits_the_commits(project: Project, store: Store) -> None:
    report = import_project(store, project.path, "demo",
                            rev_range=f"{project.shas['add raw data']}..main")
    assert [c.message for c in report.imported] == ["train model", "more data"]
    files = stored_files(store, "demo", "main")
    assert files == project.expected["more data"]


def test_missing_data_names_file_and_commit_and_imports_nothing_of_it(
        project: Project, store: Store) -> None:
    # drop the cached model of "train model" (no remote is configured)
    model_md5 = _lock_md5(git(project.path, "show", f"{project.shas['train model']}:dvc.lock"),
                          "model/model.bin")
    cached = project.path / ".dvc" / "cache" / "files" / "md5" / model_md5[:2] / model_md5[2:]
    cached.unlink()
    with pytest.raises(PathNotFound) as err:
        import_project(store, project.path, "demo")
    msg = str(err.value)
    assert "model/model.bin" in msg and project.shas["train model"][:12] in msg
    assert "train model" in msg
    log = store.repo("demo").log("main")
    assert [row.message for row in log] == ["add raw data", "Initialize repository"]


def _lock_md5(lock_text: str, path: str) -> str:
    import yaml

    doc = yaml.safe_load(lock_text)
    for stage in doc["stages"].values():
        for out in stage.get("outs", []):
            if out["path"] == path:
                return str(out["md5"])
    raise AssertionError(path)


@pytest.mark.filterwarnings("ignore::DeprecationWarning:dvc_http",
                            "ignore::DeprecationWarning:aiohttp_retry.client")
def test_data_missing_from_cache_is_read_from_the_blacklake_remote(
        project: Project, store: Store) -> None:
    # the project's default remote is BlackLake itself (served over HTTP on 127.0.0.1)
    remote = DvcRemote(store, quiet=0.2)
    gw = remote.serve(token="t0ken").start()
    try:
        url = f"{gw.url}/dvc/dvc-storage"

        def configure(*where: str) -> None:
            dvc(project.path, "remote", "add", *where, "-d", "bl", url)
            dvc(project.path, "remote", "modify", "--local", "bl", "auth", "basic")
            dvc(project.path, "remote", "modify", "--local", "bl", "user", "me")
            dvc(project.path, "remote", "modify", "--local", "bl", "password", "t0ken")

        # push every revision's data (`--all-commits` needs the whole remote in
        # config.local: DVC validates each old commit's config with the local one merged)
        configure("--local")
        dvc(project.path, "push", "-q", "--all-commits")
        # the usual setup: url in .dvc/config, credentials in config.local (old commits
        # have no url for "bl": the import merges the work tree's remotes in)
        dvc(project.path, "remote", "remove", "--local", "bl")
        configure()
        # and lose the local cache
        shutil.rmtree(project.path / ".dvc" / "cache")
        report = import_project(store, project.path, "demo")
        assert [c.message for c in report.imported] == IMPORTED
        for row in store.repo("demo").log("main")[:-1]:
            assert stored_files(store, "demo", row.id) == project.expected[row.message]
        # the imported files are the very file objects the push stored: no second copy
        remote.flush()
        pushed = {e["id"] for e in store.repo("dvc-storage").ls("dvc-remote", recursive=True)}
        imported = {e["id"] for row in store.repo("demo").log("main")[:-1]
                    for e in store.repo("demo").ls(row.id, recursive=True)}
        assert imported <= pushed
    finally:
        gw.close()
        remote.close()


def test_bad_input_changes_nothing(project: Project, store: Store, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(InvalidInput, match="not a DVC project"):
        import_project(store, plain, "demo")
    with pytest.raises(PathNotFound):
        import_project(store, tmp_path / "nope", "demo")
    with pytest.raises(RefNotFound, match="no-such-branch"):
        import_project(store, project.path, "demo", branch="no-such-branch")
    with pytest.raises(InvalidInput):
        import_project(store, project.path, "Bad Name")
    with pytest.raises(RepoNotFound):
        store.repo("demo")  # nothing was created by the failed calls


def test_cli_import_json_and_human(project: Project, tmp_path: Path) -> None:
    home = str(tmp_path / "clihome")
    runner = CliRunner()
    res = runner.invoke(cli, ["--home", home, "dvc", "import", str(project.path), "demo",
                              "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [c["message"] for c in doc["imported"]] == IMPORTED
    assert doc["imported"][0]["author"] == "Alice <alice@example.com>"
    assert doc["imported"][0]["date"] == "2024-01-02T10:00:00+00:00"
    assert doc["skipped"] == 2 and doc["resumed_from"] is None

    res = runner.invoke(cli, ["--home", home, "dvc", "import", str(project.path), "demo"])
    assert res.exit_code == 0, res.output
    assert "up to date" in res.stderr

    res = runner.invoke(cli, ["--home", home, "dvc", "import", str(tmp_path), "demo"])
    assert res.exit_code == 2
    assert res.stderr.startswith("blacklake: error: ") and "not a DVC project" in res.stderr


def test_dvc2_records_md5_dos2unix(tmp_path: Path, store: Store) -> None:
    """A DVC 2 ``.dvc`` file (no ``hash: md5``) hashes text with LF line ends; its data sits
    in the legacy cache layout. The bytes are imported as they are (CRLF kept)."""
    import hashlib

    root = tmp_path / "legacy"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    dvc(root, "init", "-q")
    data = b"a,b\r\n1,2\r\n"
    (root / "t.csv").write_bytes(data)
    md5 = hashlib.md5(data.replace(b"\r\n", b"\n")).hexdigest()
    cached = root / ".dvc" / "cache" / md5[:2] / md5[2:]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(data)
    (root / "t.csv.dvc").write_text(f"outs:\n- md5: {md5}\n  size: {len(data)}\n"
                                    "  path: t.csv\n")
    (root / ".gitignore").write_text("/t.csv\n")
    commit(root, "a DVC 2 file", "Alice", "2022-06-01T12:00:00+00:00")
    report = import_project(store, root, "legacy")
    assert [c.added for c in report.imported] == [1]
    assert store.repo("legacy").read_bytes("main", "t.csv") == data
    # the dos2unix value is not the content's MD5: it is not cached as one
    fid = store.repo("legacy").entry("main", "t.csv").id
    assert store.catalog.get_blob(fid).md5 is None  # type: ignore[union-attr]
    assert store.repo("legacy").digests("main", "t.csv", md5=True)["md5"] == \
        hashlib.md5(data).hexdigest()


def test_damaged_cache_entry_is_not_imported(project: Project, store: Store) -> None:
    raw = project.expected["add raw data"]["data/raw.csv"]
    md5 = hashlib_md5(raw)
    cached = project.path / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    cached.chmod(0o644)
    cached.write_bytes(b"flipped bits")
    with pytest.raises(CorruptObject, match="data/raw.csv .* damaged"):
        import_project(store, project.path, "demo")  # no remote to fall back to
    assert [row.message for row in store.repo("demo").log("main")] == \
        ["Initialize repository"]


def hashlib_md5(data: bytes) -> str:
    import hashlib

    return hashlib.md5(data).hexdigest()


def test_project_in_a_subdirectory_of_the_git_repository(tmp_path: Path, store: Store) -> None:
    root = tmp_path / "mono"
    (root / "ml").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "app.txt").write_text("not DVC\n")
    commit(root, "app", "Bob", "2024-04-01T10:00:00+00:00")
    ml = root / "ml"
    dvc(ml, "init", "-q", "--subdir")
    (ml / "data.bin").write_bytes(b"sub project data")
    (ml / "dvc.yaml").write_text("stages:\n  copy:\n    cmd: cp data.bin out.bin\n"
                                 "    deps: [data.bin]\n    outs: [out.bin]\n")
    dvc(ml, "add", "-q", "data.bin")
    dvc(ml, "repro", "-q")
    sha = commit(root, "ml data", "Alice", "2024-04-02T10:00:00+00:00")
    report = import_project(store, ml, "mono")
    assert [(c.git_commit, c.stages) for c in report.imported] == [(sha, ["copy"])]
    files = stored_files(store, "mono", "main")
    assert files == {"data.bin": b"sub project data", "out.bin": b"sub project data"}
    head = store.repo("mono").branch_head("main")
    g = store.lineage.upstream(f"blacklake://mono/{head}/out.bin", depth=2)
    assert {(e["source"], e["target"]) for e in g["edges"]} >= {
        (f"blacklake://mono/{head}/data.bin", f"run:dvc:{sha}:copy"),
        (f"run:dvc:{sha}:copy", f"blacklake://mono/{head}/out.bin")}
