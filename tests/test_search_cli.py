"""``blacklake search``, ``similar`` and ``index`` on the command line."""

from __future__ import annotations

import json
import random
from pathlib import Path

from click.testing import CliRunner
from search_fixtures import zoo

from blacklake_ml.cli.main import cli


def run(home: Path, *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def test_search_similar_index_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    models = zoo(tmp_path / "zoo")
    assert run(home, "repo", "create", "hub")[0] == 0
    assert run(home, "put", str(models), "blacklake://hub/main/models", "-m", "zoo")[0] == 0
    code, out, err = run(home, "search", "German speech recognition", "-k", "2", "--json")
    assert code == 0, err
    hits = json.loads(out)
    assert hits[0]["uri"] == "blacklake://hub/main/models/asr-de"
    assert {"uri", "score", "why", "kind", "name", "refs", "facts"} <= set(hits[0])
    assert hits[0]["score"] >= hits[-1]["score"]
    code, out, _ = run(home, "search", "speech", "--filter", "license=cc-by-nc-4.0",
                       "--repo", "hub", "--json")
    assert [h["uri"] for h in json.loads(out)] == ["blacklake://hub/main/models/asr-en-nc"]
    code, out, err = run(home, "search", "protein folding", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, err = run(home, "search", "speech", "--mode", "bm25")
    assert code == 0 and "blacklake://hub/main/models/" in out
    rnd = random.Random(5)
    blob = rnd.randbytes(1 << 20)
    (tmp_path / "a.bin").write_bytes(blob)
    (tmp_path / "b.bin").write_bytes(blob[: 1 << 19] + rnd.randbytes(1 << 19))
    for name in ("a.bin", "b.bin"):
        assert run(home, "put", str(tmp_path / name), f"blacklake://hub/main/w/{name}",
                   "-m", name)[0] == 0
    code, out, err = run(home, "similar", "blacklake://hub/main/w/a.bin", "--json")
    assert code == 0, err
    sim = json.loads(out)
    assert sim[0]["uri"] == "blacklake://hub/main/w/b.bin"
    assert sim[0]["relation"] == "shares-chunks" and 0.3 < sim[0]["shared_fraction"] < 0.7
    code, out, err = run(home, "index", "--full", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["cards"] == 4 and doc["errors"] == []


def test_search_bad_input_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for args, code in ((["search", "x", "--filter", "colour=red"], 2),
                       (["search", "x", "--repo", "missing"], 3),
                       (["search", "   "], 2),
                       (["similar", "blacklake://nope/main/x.bin"], 3),
                       (["similar", "not-a-uri"], 2)):
        rc, out, err = run(home, *args)
        assert rc == code, (args, rc, err)
        assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err
