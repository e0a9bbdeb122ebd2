"""The lifecycle commands of the ``blacklake`` CLI: version, alias, deploy, deprecate.

Driven in-process with click's runner through the ``BL`` helper of ``test_cli.py`` (which
checks the output rules: ``--json`` prints exactly one document, errors are one line on
stderr with the error's exit code and nothing on stdout).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_cli import BL, ENV_CLEAR


@pytest.fixture
def bl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BL:
    for var in ENV_CLEAR:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BLACKLAKE_FSYNC", "0")
    monkeypatch.setenv("BLACKLAKE_AUTHOR", "tester")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return BL(tmp_path / "home", work)


@pytest.fixture
def model(bl: BL, tmp_path: Path) -> dict[str, str]:
    """Repository ``model`` with versions v1.0.0, 1.1.0-rc.1 and v1.1.0 of ``model.bin``;
    returns version -> commit id."""
    bl.ok("repo", "create", "model")
    commits = {}
    for i, name in enumerate(["v1.0.0", "1.1.0-rc.1", "v1.1.0"]):
        f = tmp_path / "src" / "model.bin"
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(f"weights {i}".encode())
        commits[name] = bl.json("put", str(f), "blacklake://model/main/model.bin",
                                "-m", f"train {name}")["commit"]
        doc = bl.json("version", "create", "model", name)
        assert (doc["name"], doc["commit"]) == (name, commits[name])
    return commits


def state(bl: BL) -> Any:
    """What a failed lifecycle command must not change."""
    aliases = [a["name"] for a in bl.json("alias", "list", "model")]
    return (bl.json("tag", "list", "model"), bl.json("branch", "list", "model"),
            bl.json("alias", "list", "model"),
            {a: bl.json("alias", "history", "model", a) for a in aliases},
            bl.json("deploy", "list", "model"), bl.json("deprecations", "model"),
            bl.json("log", "blacklake://model/main"))


# -- versions -------------------------------------------------------------------------------
def test_version_create_list_resolve(bl: BL, model: dict[str, str]) -> None:
    docs = bl.json("version", "list", "model")
    assert [(d["name"], d["version"], d["prerelease"]) for d in docs] == [
        ("v1.0.0", "1.0.0", False), ("1.1.0-rc.1", "1.1.0-rc.1", True),
        ("v1.1.0", "1.1.0", False)]
    assert all(d["aliases"] == [] and d["deprecated"] is None for d in docs)
    human = bl.ok("version", "list", "model").stdout.splitlines()
    assert [line.split("\t")[0] for line in human] == ["v1.0.0", "1.1.0-rc.1", "v1.1.0"]
    assert "prerelease" in human[1]

    res = bl.ok("version", "resolve", "model", "latest")
    assert res.stdout == f"v1.1.0\t{model['v1.1.0']}\n"
    doc = bl.json("version", "resolve", "model", "~1.0")
    assert doc == {"spec": "~1.0", "name": "v1.0.0", "version": "1.0.0",
                   "commit": model["v1.0.0"]}
    assert bl.json("version", "resolve", "model", "<1.1.0", "--pre")["name"] == "1.1.0-rc.1"
    assert bl.json("version", "resolve", "model", "<1.1")["name"] == "v1.0.0"
    res = bl.ok("version", "create", "model", "v2.0.0-rc.1", "--ref", "v1.0.0")
    assert res.stdout == f"created version v2.0.0-rc.1 at {model['v1.0.0'][:12]}\n"
    assert bl.json("version", "resolve", "model", "newest")["name"] == "v2.0.0-rc.1"
    # Versions are tags: the usual commands see them, and URIs name them.
    assert "v1.1.0" in [t["name"] for t in bl.json("tag", "list", "model")]
    bl.ok("get", "blacklake://model/v1.0.0/model.bin", "-o", str(bl.work / "m.bin"))
    assert (bl.work / "m.bin").read_bytes() == b"weights 0"


# -- aliases --------------------------------------------------------------------------------
def test_alias_set_list_history_rollback(bl: BL, model: dict[str, str]) -> None:
    doc = bl.json("alias", "set", "model", "champion", "v1.0.0", "-m", "first release")
    assert (doc["alias"], doc["seq"], doc["action"], doc["to"], doc["to_label"],
            doc["by"], doc["reason"]) == ("champion", 1, "create", model["v1.0.0"],
                                          "v1.0.0", "tester", "first release")
    res = bl.ok("alias", "set", "model", "champion", "v1.1.0")
    assert res.stdout == (f"champion: v1.0.0 ({model['v1.0.0'][:12]}) -> "
                          f"v1.1.0 ({model['v1.1.0'][:12]}) (move)\n")
    res = bl.ok("alias", "set", "model", "champion", "v1.1.0")
    assert res.stdout.startswith("champion: already at v1.1.0")
    assert bl.json("alias", "set", "model", "champion", "v1.1.0")["action"] == "unchanged"
    assert bl.json("alias", "list", "model") == [
        {"name": "champion", "commit": model["v1.1.0"], "label": "v1.1.0",
         "updated": bl.json("alias", "list", "model")[0]["updated"]}]
    # Aliases resolve in URIs, and stay out of branch and tag listings.
    bl.ok("get", "blacklake://model/champion/model.bin", "-o", str(bl.work / "c.bin"))
    assert (bl.work / "c.bin").read_bytes() == b"weights 2"
    assert [b["name"] for b in bl.json("branch", "list", "model")] == ["main"]
    assert "champion" not in [t["name"] for t in bl.json("tag", "list", "model")]
    assert bl.json("version", "list", "model")[2]["aliases"] == ["champion"]

    back = bl.json("alias", "rollback", "model", "champion", "-m", "accuracy drop")
    assert (back["action"], back["from"], back["to"], back["reason"]) == \
        ("rollback", model["v1.1.0"], model["v1.0.0"], "accuracy drop")
    fwd = bl.ok("alias", "roll-forward", "model", "champion")
    assert fwd.stdout.endswith("(rollforward)\n") and "-> v1.1.0" in fwd.stdout
    history = bl.json("alias", "history", "model", "champion")
    assert [h["action"] for h in history] == ["rollforward", "rollback", "move", "create"]
    assert [h["seq"] for h in history] == [4, 3, 2, 1]
    human = bl.ok("alias", "history", "model", "champion").stdout.splitlines()
    assert len(human) == 4 and human[-1].startswith("1\t") and "\tcreate\t" in human[-1]

    deleted = bl.json("alias", "delete", "model", "champion", "--expect",
                      model["v1.1.0"][:12], "-m", "retired")
    assert (deleted["action"], deleted["to"]) == ("delete", None)
    assert bl.json("alias", "list", "model") == []
    assert len(bl.json("alias", "history", "model", "champion")) == 5
    bl.fail("get", "blacklake://model/champion/model.bin", code=3)


def test_alias_set_with_expect_is_compare_and_swap(bl: BL, model: dict[str, str]) -> None:
    bl.ok("alias", "set", "model", "staging", "v1.0.0")
    before = state(bl)
    res = bl.fail("alias", "set", "model", "staging", "v1.1.0", "--expect", model["v1.1.0"],
                  code=5)
    assert "not at the expected" in res.stderr and "nothing changed" in res.stderr
    assert state(bl) == before
    doc = bl.json("alias", "set", "model", "staging", "v1.1.0", "--expect",
                  model["v1.0.0"])
    assert (doc["from"], doc["to"]) == (model["v1.0.0"], model["v1.1.0"])


# -- deployments ----------------------------------------------------------------------------
def test_deploy_commands(bl: BL, model: dict[str, str]) -> None:
    doc = bl.json("deploy", "set", "model", "prod", "v1.0.0", "--note", "launch")
    assert (doc["environment"], doc["seq"], doc["commit"], doc["label"], doc["action"],
            doc["by"], doc["note"]) == ("prod", 1, model["v1.0.0"], "v1.0.0", "deploy",
                                        "tester", "launch")
    res = bl.ok("deploy", "set", "model", "prod", "v1.1.0")
    assert res.stdout == f"prod now runs v1.1.0 ({model['v1.1.0'][:12]}) (deploy)\n"
    bl.ok("deploy", "set", "model", "staging", "1.1.0-rc.1")
    current = bl.json("deploy", "list", "model")
    assert [(d["environment"], d["label"]) for d in current] == [("prod", "v1.1.0"),
                                                                 ("staging", "1.1.0-rc.1")]
    assert bl.json("deployments", "model") == current
    history = bl.json("deployments", "model", "--env", "prod")
    assert history == bl.json("deploy", "history", "model", "prod")
    assert [d["seq"] for d in history] == [2, 1]
    human = bl.ok("deployments", "model").stdout.splitlines()
    assert [line.split("\t")[:2] for line in human] == [["prod", "v1.1.0"],
                                                        ["staging", "1.1.0-rc.1"]]

    back = bl.json("deploy", "rollback", "model", "prod", "--note", "p99 latency")
    assert (back["action"], back["commit"], back["note"]) == ("rollback", model["v1.0.0"],
                                                              "p99 latency")
    fwd = bl.json("deploy", "roll-forward", "model", "prod")
    assert (fwd["action"], fwd["commit"]) == ("rollforward", model["v1.1.0"])
    assert bl.json("version", "list", "model")[2]["deployed_to"] == ["prod"]


# -- deprecation ----------------------------------------------------------------------------
def test_deprecate_and_the_warning_on_load(bl: BL, model: dict[str, str]) -> None:
    doc = bl.json("deprecate", "model", "v1.0.0", "--sunset", "2001-01-01", "-m",
                  "data leak")
    assert (doc["repo"], doc["commit"], doc["label"], doc["reason"], doc["sunset"],
            doc["past_sunset"], doc["by"]) == ("model", model["v1.0.0"], "v1.0.0",
                                                "data leak", "2001-01-01", True, "tester")
    warning = ("blacklake: warning: model 'model' version v1.0.0 is deprecated: data leak; "
               "past its sunset date 2001-01-01")
    res = bl.ok("get", "blacklake://model/v1.0.0/model.bin", "-o", str(bl.work / "a.bin"))
    assert res.stderr.splitlines() == [warning]
    assert res.stdout.startswith("wrote ")
    # With --json stdout is still exactly one document; the warning goes to stderr.
    res = bl.ok("get", "blacklake://model/v1.0.0/model.bin", "-o", str(bl.work / "b.bin"),
                "--json")
    assert json.loads(res.stdout)["commit"] == model["v1.0.0"]
    assert res.stderr.splitlines() == [warning]
    res = bl.ok("checkout", "blacklake://model/v1.0.0", str(bl.work / "co"))
    assert res.stderr.splitlines() == [warning]
    # Not deprecated: nothing on stderr.
    res = bl.ok("get", "blacklake://model/v1.1.0/model.bin", "-o", str(bl.work / "c.bin"))
    assert res.stderr == ""
    listed = bl.json("version", "list", "model")
    assert listed[0]["deprecated"]["reason"] == "data leak"
    assert listed[2]["deprecated"] is None

    bl.ok("deprecate", "model", "-m", "use model-v2", "--sunset", "2999-01-01")
    res = bl.ok("get", "blacklake://model/v1.1.0/model.bin", "-o", str(bl.work / "d.bin"))
    assert res.stderr.splitlines() == [
        "blacklake: warning: model 'model' is deprecated: use model-v2; sunset 2999-01-01"]
    deps = bl.json("deprecations", "model")
    assert [(d["commit"], d["label"]) for d in deps] == [(None, None),
                                                         (model["v1.0.0"], "v1.0.0")]
    human = bl.ok("deprecations", "model").stdout.splitlines()
    assert human[0].startswith("(repository)\t") and "(past)" in human[1]

    assert bl.json("undeprecate", "model") == {"repo": "model", "ref": None,
                                              "deprecated": False}
    assert bl.ok("undeprecate", "model", "v1.0.0").stdout == \
        "model v1.0.0 is no longer deprecated\n"
    res = bl.ok("get", "blacklake://model/v1.0.0/model.bin", "-o", str(bl.work / "e.bin"))
    assert res.stderr == ""


def test_deprecation_warning_control_characters_are_escaped(bl: BL,
                                                            model: dict[str, str]) -> None:
    from blacklake_ml.service.store import Store

    # Reasons are validated to one line; a row written by another tool must still not
    # forge output lines.
    with Store.open(bl.home) as st:
        repo = st.repo("model")
        st.catalog.set_deprecation(repo.id, model["v1.0.0"], reason="a\nb\x1b[31m",
                                   sunset=None, by="x", label="v1.0.0")
    res = bl.ok("get", "blacklake://model/v1.0.0/model.bin", "-o", str(bl.work / "a.bin"))
    assert len(res.stderr.splitlines()) == 1
    assert "a\\nb\\x1b[31m" in res.stderr


# -- bad input: one line, right exit code, nothing changed ----------------------------------
BAD_INPUTS = [
    # (args, exit code, text in the error)
    (["version", "create", "model", "1.2"], 2, "MAJOR.MINOR.PATCH"),
    (["version", "create", "model", "v1.2.3+build"], 2, "build metadata"),
    (["version", "create", "model", "01.2.3"], 2, "leading zeros"),
    (["version", "create", "model", "1.0.0"], 4, "v1.0.0"),
    (["version", "create", "model", "v1.1.0-rc.1"], 4, "1.1.0-rc.1"),
    (["version", "create", "model", "2.0.0", "--ref", "nope"], 3, "nope"),
    (["version", "create", "nope", "2.0.0"], 3, "nope"),
    (["version", "resolve", "model", "^9"], 3, "no version matching"),
    (["version", "resolve", "model", ">*"], 2, "matches nothing"),
    (["version", "resolve", "model", "1.x.3"], 2, "wildcard"),
    (["alias", "set", "model", "main", "v1.0.0"], 4, "branch named 'main'"),
    (["alias", "set", "model", "v1.0.0", "v1.0.0"], 2, "looks like a version"),
    (["alias", "set", "model", "a/b", "v1.0.0"], 2, "invalid alias name"),
    (["alias", "set", "model", "champion", "nope"], 3, "nope"),
    (["alias", "set", "model", "champion", "v1.1.0", "--expect", "deadbeefdeadbeef"], 3,
     "deadbeef"),
    (["alias", "set", "model", "champion", "v1.1.0", "-m", "a\nb"], 2, "one line"),
    (["alias", "rollback", "model", "champion"], 3, "no earlier target"),
    (["alias", "roll-forward", "model", "champion"], 3, "no rollback to undo"),
    (["alias", "rollback", "model", "ghost"], 3, "no alias"),
    (["alias", "history", "model", "ghost"], 3, "no alias"),
    (["alias", "history", "model", "main"], 3, "not an alias"),
    (["alias", "delete", "model", "ghost"], 3, "no alias"),
    (["alias", "delete", "model", "champion", "--expect", "{v1.1.0}"], 5, "expected"),
    (["deploy", "set", "model", "pr/od", "v1.0.0"], 2, "invalid environment"),
    (["deploy", "set", "model", "prod", "nope"], 3, "nope"),
    (["deploy", "rollback", "model", "prod"], 3, "no earlier deployment"),
    (["deploy", "rollback", "model", "dev"], 3, "nothing was ever deployed"),
    (["deploy", "roll-forward", "model", "prod"], 3, "no rollback to undo"),
    (["deploy", "history", "model", "dev"], 3, "nothing was ever deployed"),
    (["deployments", "model", "--env", "dev"], 3, "nothing was ever deployed"),
    (["deploy", "set", "model"], 2, "Missing argument"),
    (["deprecate", "model", "v1.0.0", "--sunset", "2027-13-01", "-m", "x"], 2,
     "invalid sunset"),
    (["deprecate", "model", "v1.0.0", "--sunset", "next week", "-m", "x"], 2,
     "invalid sunset"),
    (["deprecate", "model", "v1.0.0", "-m", " "], 2, "reason is empty"),
    (["deprecate", "model", "v1.0.0"], 2, "Missing option"),
    (["deprecate", "model", "nope", "-m", "x"], 3, "nope"),
    (["undeprecate", "model", "v1.1.0"], 3, "not deprecated"),
    (["undeprecate", "model"], 3, "not deprecated"),
]


@pytest.mark.parametrize("args,code,text", BAD_INPUTS,
                         ids=[f"{i}-{'-'.join(a[:2])}" for i, (a, _, _) in
                              enumerate(BAD_INPUTS)])
def test_bad_input_changes_nothing(bl: BL, model: dict[str, str], args: list[str],
                                   code: int, text: str) -> None:
    bl.ok("alias", "set", "model", "champion", "v1.0.0")
    bl.ok("deploy", "set", "model", "prod", "v1.0.0")
    bl.ok("deprecate", "model", "v1.0.0", "-m", "old")
    before = state(bl)
    res = bl.fail(*[a.replace("{v1.1.0}", model["v1.1.0"]) for a in args], code=code)
    assert text in res.stderr
    assert state(bl) == before


def test_every_lifecycle_read_command_prints_one_json_document(bl: BL,
                                                               model: dict[str, str]) -> None:
    bl.ok("alias", "set", "model", "champion", "v1.0.0")
    bl.ok("deploy", "set", "model", "prod", "champion")
    bl.ok("deprecate", "model", "v1.0.0", "-m", "old")
    for args in (["version", "list", "model"], ["version", "resolve", "model", "latest"],
                 ["alias", "list", "model"], ["alias", "history", "model", "champion"],
                 ["deploy", "list", "model"], ["deploy", "history", "model", "prod"],
                 ["deployments", "model"], ["deployments", "model", "--env", "prod"],
                 ["deprecations", "model"]):
        res = bl.ok(*args, "--json")
        json.loads(res.stdout)  # exactly one document: extra output would not parse
        assert res.stderr == ""
