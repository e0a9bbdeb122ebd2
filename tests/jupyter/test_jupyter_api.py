"""Every route of the REST API on a real seeded store, through a real Jupyter server."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from jupyter_helpers import Call

from blacklake_ml import __version__


async def test_status_reports_version_store_and_counts(api: Call, store_home: Any) -> None:
    status, doc = await api("GET", "status")
    assert status == 200
    assert doc["ok"] is True and doc["version"] == __version__ and doc["api_version"] == 1
    assert doc["store"]["home"] == str(store_home)
    assert doc["store"]["catalog"].endswith("catalog.sqlite")
    assert doc["counts"]["repos"] == 3 and doc["counts"]["cards"] > 0
    assert doc["empty"] is False and isinstance(doc["dense_search"], bool)


async def test_repos_are_listed_by_name_and_paginated(api: Call) -> None:
    status, doc = await api("GET", "repos")
    assert status == 200
    assert [r["name"] for r in doc["items"]] == ["ft", "hub", "tiny"]
    assert doc["total"] == 3 and doc["offset"] == 0 and doc["limit"] == 100
    assert doc["items"][1]["description"] == "Speech and vision models"
    assert doc["items"][2]["max_files"] == 2
    _, page = await api("GET", "repos", params={"offset": "1", "limit": "1"})
    assert [r["name"] for r in page["items"]] == ["hub"]
    assert page["has_more"] is True and page["total"] == 3
    _, last = await api("GET", "repos", params={"offset": "2", "limit": "5"})
    assert [r["name"] for r in last["items"]] == ["tiny"] and last["has_more"] is False


async def test_repo_detail_has_refs_lifecycle_and_stats(api: Call) -> None:
    status, doc = await api("GET", "repos/hub")
    assert status == 200
    assert doc["name"] == "hub" and doc["default_branch"] == "main"
    assert [b["name"] for b in doc["branches"]] == ["experiment", "feature", "main"]
    assert [t["name"] for t in doc["tags"]] == ["baseline", "v1.0.0"]
    assert doc["aliases"] == [{"name": "champion", "kind": "alias",
                               "commit": doc["tags"][1]["commit"], "label": "v1.0.0",
                               "updated": doc["aliases"][0]["updated"]}]
    (version,) = doc["versions"]
    assert version["name"] == "v1.0.0" and version["aliases"] == ["champion"]
    assert version["deployed_to"] == ["prod"]
    (dep,) = doc["deployments"]
    assert dep["environment"] == "prod" and dep["label"] == "v1.0.0" and dep["note"] == "OPS-1"
    (deprecated,) = doc["deprecations"]
    assert deprecated["reason"] == "weights leaked the test split"
    assert deprecated["sunset"] == "2027-03-31"
    main = next(b for b in doc["branches"] if b["name"] == "main")
    stats = doc["stats"]
    assert stats["commits"] == 7 and stats["branches"] == 3 and stats["tags"] == 2
    assert stats["head"]["commit"] == main["commit"] and stats["head"]["files"] == 12


async def test_refs_filtered_by_kind_and_paginated(api: Call) -> None:
    _, doc = await api("GET", "repos/hub/refs")
    assert doc["total"] == 6
    assert {(r["name"], r["kind"]) for r in doc["items"]} == {
        ("main", "branch"), ("experiment", "branch"), ("feature", "branch"),
        ("v1.0.0", "tag"), ("baseline", "tag"), ("champion", "alias")}
    _, tags = await api("GET", "repos/hub/refs", params={"kind": "tag", "limit": "1"})
    assert [r["name"] for r in tags["items"]] == ["baseline"] and tags["has_more"] is True
    _, branches = await api("GET", "repos/hub/branches")
    assert [r["name"] for r in branches["items"]] == ["experiment", "feature", "main"]
    _, tag_list = await api("GET", "repos/hub/tags")
    assert [r["name"] for r in tag_list["items"]] == ["baseline", "v1.0.0"]


async def test_tree_lists_dirs_first_with_asset_flags_and_pages(api: Call) -> None:
    status, root = await api("GET", "repos/hub/tree/main")
    assert status == 200 and root["path"] == "" and len(root["commit"]) == 64
    assert [(e["name"], e["kind"]) for e in root["items"]] == [
        ("datasets", "dir"), ("models", "dir"), ("notes.txt", "file")]
    notes = root["items"][2]
    assert notes["size"] == len(b"line1\nmain side\n") and notes["asset"] is False
    _, first = await api("GET", "repos/hub/tree/main", params={"path": "models", "limit": "3"})
    assert [e["path"] for e in first["items"]] == [
        "models/asr-de", "models/asr-en-nc", "models/detector"]
    assert first["total"] == 4 and first["has_more"] is True
    assert all(e["asset"] is True for e in first["items"])
    assert first["items"][0]["nfiles"] == 3
    _, rest = await api("GET", "repos/hub/tree/main",
                        params={"path": "models", "offset": "3", "limit": "3"})
    assert [e["name"] for e in rest["items"]] == ["sentiment-ja"] and rest["has_more"] is False
    # A commit id (a pinned snapshot) works as the ref. Asset flags come from the search
    # index, which holds branch and tag heads: v1.0.0 is at the second commit; nothing is
    # at the third, so its flags are null (unknown).
    _, log = await api("GET", "repos/hub/log/main", params={"limit": "3"})
    tagged, untagged = log["items"][1]["id"], log["items"][2]["id"]
    _, at_tag = await api("GET", f"repos/hub/tree/{tagged[:12]}", params={"path": "models"})
    assert at_tag["commit"] == tagged and all(e["asset"] is True for e in at_tag["items"])
    _, at_old = await api("GET", f"repos/hub/tree/{untagged}")
    assert at_old["commit"] == untagged
    assert [(e["name"], e["asset"]) for e in at_old["items"]] == [("datasets", None),
                                                                  ("models", None)]
    _, feature = await api("GET", "repos/hub/tree/feature", params={"path": "extra"})
    assert [e["name"] for e in feature["items"]] == ["hello.txt"]


async def test_file_of_a_model_card_has_facts_readme_and_content(api: Call) -> None:
    status, doc = await api("GET", "repos/hub/file/main",
                            params={"path": "models/asr-de/README.md"})
    assert status == 200
    assert doc["kind"] == "file" and doc["name"] == "README.md"
    assert doc["uri"] == "blacklake://hub/main/models/asr-de/README.md"
    asset = doc["asset"]
    assert asset["path"] == "models/asr-de" and asset["kind"] == "model"
    assert asset["name"] == "Nordlicht telephony speech recognizer"
    assert asset["facts"]["license"] == "apache-2.0" and asset["facts"]["language"] == ["de"]
    assert asset["parameters"] == 256 * 1024
    assert doc["readme"]["path"] == "models/asr-de/README.md"
    assert "# Nordlicht telephony speech recognizer" in doc["readme"]["text"]
    assert doc["text"] is True and doc["content"] == doc["readme"]["text"]
    assert doc["content_truncated"] is False and doc["deprecation"] is None
    assert len(doc["sha256"]) == 64 and "md5" not in doc


async def test_file_of_binary_weights_has_digests_and_no_content(api: Call) -> None:
    from jupyter_seed import WEIGHTS_FLOATS, safetensors

    data = safetensors(WEIGHTS_FLOATS, 1)
    _, doc = await api("GET", "repos/hub/file/v1.0.0",
                       params={"path": "models/asr-de/model.safetensors", "md5": "true"})
    assert doc["size"] == len(data) and doc["sha256"] == hashlib.sha256(data).hexdigest()
    assert doc["md5"] == hashlib.md5(data).hexdigest()
    assert doc["text"] is False and doc["content"] is None
    assert doc["asset"]["path"] == "models/asr-de"


async def test_file_of_an_asset_directory_and_of_a_plain_file(api: Call) -> None:
    _, d = await api("GET", "repos/hub/file/champion", params={"path": "datasets/callcenter-de"})
    assert d["kind"] == "dir" and d["nfiles"] == 2 and d["sha256"] is None
    assert d["asset"]["kind"] == "dataset" and d["asset"]["name"] == "Call-center German"
    assert d["readme"]["text"].startswith("---\nlicense: cc-by-4.0")
    _, notes = await api("GET", "repos/hub/file/main", params={"path": "notes.txt"})
    assert notes["asset"] is None and notes["readme"] is None
    assert notes["content"] == "line1\nmain side\n"
    _, csv = await api("GET", "repos/hub/file/main",
                       params={"path": "datasets/callcenter-de/data.csv"})
    assert csv["asset"]["path"] == "datasets/callcenter-de"  # inside the dataset folder
    _, root = await api("GET", "repos/hub/file/main")
    assert root["kind"] == "dir" and root["path"] == "" and root["nfiles"] == 12
    assert root["asset"] is None and root["readme"] is None


async def test_file_at_a_deprecated_commit_says_so(api: Call) -> None:
    _, log = await api("GET", "repos/hub/log/main", params={"offset": "3", "limit": "1"})
    (zoo,) = log["items"]
    assert zoo["message"] == "Add the model zoo"
    _, doc = await api("GET", f"repos/hub/file/{zoo['id']}",
                       params={"path": "models/asr-de/config.json"})
    assert doc["deprecation"]["reason"] == "weights leaked the test split"
    assert doc["deprecation"]["commit"] == zoo["id"]
    assert doc["asset"]["name"] == "Nordlicht telephony speech recognizer"


async def test_log_is_newest_first_with_parents_refs_and_pages(api: Call) -> None:
    status, doc = await api("GET", "repos/hub/log/main")
    assert status == 200 and doc["has_more"] is False
    msgs = [c["message"] for c in doc["items"]]
    assert msgs == ["Edit notes on main", "Add notes", "Add the call-center dataset",
                    "Add the model zoo", "Initialize repository"]
    head = doc["items"][0]
    assert head["parents"] == [doc["items"][1]["id"]]
    assert head["refs"] == [{"name": "main", "kind": "branch"}]
    tagged = doc["items"][1]["refs"]
    assert {r["name"] for r in tagged} == {"v1.0.0", "baseline", "champion"}
    assert doc["items"][2]["meta"] == {"run_id": "prep-7"}
    _, page = await api("GET", "repos/hub/log/main", params={"offset": "1", "limit": "2"})
    assert [c["message"] for c in page["items"]] == msgs[1:3] and page["has_more"] is True
    _, per_path = await api("GET", "repos/hub/log/experiment", params={"path": "notes.txt"})
    assert [c["message"] for c in per_path["items"]] == ["Relicense asr-de under MIT",
                                                         "Add notes"]


async def test_diff_between_branches_has_facts_and_text_diffs(api: Call) -> None:
    status, doc = await api("GET", "repos/hub/diff", params={"a": "main", "b": "experiment"})
    assert status == 200
    assert doc["a"]["ref"] == "main" and doc["b"]["ref"] == "experiment"
    assert doc["added"] == [] and doc["removed"] == []
    assert doc["counts"] == {"added": 0, "removed": 0, "modified": 2} and doc["total"] == 2
    card, notes = doc["modified"]
    assert card["path"] == "models/asr-de/README.md" and card["changes"] == ["content"]
    assert card["asset"] == "models/asr-de"
    assert card["facts_diff"] == {"license": ["apache-2.0", "mit"]}
    assert "-license: apache-2.0\n+license: mit\n" in card["text_diff"]
    assert notes["facts_diff"] is None and notes["asset"] is None
    assert notes["text_diff"].endswith("-main side\n+experiment\n")
    # paginated over all changed paths in path order; restricted to a path
    _, page = await api("GET", "repos/hub/diff",
                        params={"a": "main", "b": "experiment", "offset": "1", "limit": "1"})
    assert [m["path"] for m in page["modified"]] == ["notes.txt"] and page["has_more"] is False
    _, one = await api("GET", "repos/hub/diff",
                       params={"a": "main", "b": "experiment", "path": "notes.txt"})
    assert [m["path"] for m in one["modified"]] == ["notes.txt"]
    _, added = await api("GET", "repos/hub/diff", params={"a": "main", "b": "feature",
                                                          "details": "false"})
    assert [e["path"] for e in added["added"]] == ["extra/hello.txt"]


async def test_branch_and_tag_create_and_delete(api: Call) -> None:
    status, doc = await api("POST", "repos/hub/branches", body={"name": "try", "from": "v1.0.0"})
    assert status == 201 and doc["name"] == "try" and doc["kind"] == "branch"
    _, detail = await api("GET", "repos/hub")
    v1 = next(t for t in detail["tags"] if t["name"] == "v1.0.0")
    assert doc["commit"] == v1["commit"]
    status, doc = await api("POST", "repos/hub/branches", body={"name": "from-default"})
    main = next(b for b in detail["branches"] if b["name"] == "main")
    assert status == 201 and doc["commit"] == main["commit"]
    status, doc = await api("DELETE", "repos/hub/branches/try")
    assert status == 200 and doc == {"deleted": "try", "kind": "branch"}
    status, tag = await api("POST", "repos/hub/tags", body={"name": "v1.1.0", "ref": "feature"})
    assert status == 201 and tag["kind"] == "tag"
    _, detail = await api("GET", "repos/hub")
    assert [v["name"] for v in detail["versions"]] == ["v1.0.0", "v1.1.0"]
    status, doc = await api("DELETE", "repos/hub/tags/v1.1.0")
    assert status == 200 and doc == {"deleted": "v1.1.0", "kind": "tag"}
    _, refs = await api("GET", "repos/hub/refs", params={"kind": "tag"})
    assert [r["name"] for r in refs["items"]] == ["baseline", "v1.0.0"]


async def test_alias_moves_with_compare_and_swap_and_history(api: Call) -> None:
    _, detail = await api("GET", "repos/hub")
    old = detail["aliases"][0]["commit"]
    status, same = await api("PUT", "repos/hub/aliases/champion", body={"ref": "baseline"})
    assert status == 200 and same["action"] == "unchanged"
    status, moved = await api("PUT", "repos/hub/aliases/champion",
                              body={"ref": "feature", "expect": old, "reason": "A/B won"})
    assert status == 200 and moved["action"] == "move" and moved["from"] == old
    assert moved["from_label"] == "v1.0.0" and moved["reason"] == "A/B won"
    status, created = await api("PUT", "repos/hub/aliases/staging", body={"ref": "main"})
    assert status == 201 and created["action"] == "create"
    status, hist = await api("GET", "repos/hub/aliases/champion")
    assert status == 200 and hist["commit"] == moved["to"] and hist["label"] is None
    assert [e["action"] for e in hist["items"]] == ["move", "create"] and hist["total"] == 2


async def test_merge_clean_conflicting_and_resolved(api: Call) -> None:
    status, doc = await api("POST", "repos/hub/merge", body={"source": "feature",
                                                              "target": "main"})
    assert status == 200 and doc["fast_forward"] is True and doc["created"] is False
    status, doc = await api("POST", "repos/hub/merge",
                            body={"source": "experiment", "target": "main"})
    assert status == 409
    assert doc["reason"] == "MergeConflict" and doc["conflicts"] == ["notes.txt"]
    assert "notes.txt" in doc["message"]
    status, doc = await api("POST", "repos/hub/merge",
                            body={"source": "experiment", "target": "main",
                                  "strategy": {"notes.txt": "theirs"},
                                  "message": "Take the experiment"})
    assert status == 200 and doc["created"] is True and len(doc["parents"]) == 2
    _, log = await api("GET", "repos/hub/log/main", params={"limit": "1"})
    assert log["items"][0]["message"] == "Take the experiment"
    _, notes = await api("GET", "repos/hub/file/main", params={"path": "notes.txt"})
    assert notes["content"] == "line1\nexperiment\n"


async def test_revert_and_cherry_pick(api: Call) -> None:
    _, log = await api("GET", "repos/hub/log/main", params={"limit": "1"})
    last = log["items"][0]["id"]
    status, doc = await api("POST", "repos/hub/revert", body={"commit": last, "branch": "main"})
    assert status == 200 and doc["created"] is True and doc["parents"] == [last]
    _, notes = await api("GET", "repos/hub/file/main", params={"path": "notes.txt"})
    assert notes["content"] == "line1\nline2\n"
    _, feature_log = await api("GET", "repos/hub/log/feature", params={"limit": "1"})
    status, doc = await api("POST", "repos/hub/cherry-pick",
                            body={"commit": feature_log["items"][0]["id"][:12],
                                  "target": "experiment"})
    assert status == 200 and doc["created"] is True
    _, tree = await api("GET", "repos/hub/tree/experiment", params={"path": "extra"})
    assert [e["name"] for e in tree["items"]] == ["hello.txt"]


async def test_search_with_filters_facets_and_pages(api: Call) -> None:
    status, doc = await api("GET", "search", params={"q": "German telephone speech recognizer",
                                                     "mode": "bm25"})
    assert status == 200 and doc["mode"] == "bm25"
    top = doc["items"][0]
    assert top["path"] == "models/asr-de" and top["repo"] == "hub"
    assert top["uri"].startswith("blacklake://hub/") and "why" in top and top["refs"]
    families = {f["value"]: f["count"] for f in doc["facets"]["license_family"]}
    assert families["permissive"] >= 1 and "copyleft" in families
    assert {"task", "language", "framework", "kind", "repo"} <= set(doc["facets"])
    _, german = await api("GET", "search", params=[
        ("q", "speech recognition"), ("mode", "bm25"), ("filter", "language=de"),
        ("filter", "kind=model"), ("facets", "false")])
    assert german["items"] and "facets" not in german
    assert {h["path"] for h in german["items"]} <= {"models/asr-de", "asr-de-ft"}
    _, one = await api("GET", "search", params={"q": "speech recognition", "mode": "bm25",
                                                "limit": "1"})
    assert len(one["items"]) == 1 and one["has_more"] is True
    _, second = await api("GET", "search", params={"q": "speech recognition", "mode": "bm25",
                                                   "offset": "1", "k": "1"})
    assert second["limit"] == 1 and second["items"][0]["uri"] != one["items"][0]["uri"]
    _, scoped = await api("GET", "search", params={"q": "speech", "repo": "ft",
                                                   "mode": "bm25"})
    assert {h["repo"] for h in scoped["items"]} == {"ft"}


async def test_similar_finds_shared_chunks_and_card_lineage(api: Call) -> None:
    status, doc = await api("GET", "similar",
                            params={"uri": "blacklake://ft/main/asr-de-ft/model.safetensors"})
    assert status == 200
    by_relation = {h["relation"]: h for h in doc["items"]}
    shared = by_relation["shares-chunks"]
    assert shared["uri"].endswith("/models/asr-de/model.safetensors")
    assert 0.5 < shared["shared_fraction"] < 1.0
    assert by_relation["base-model"]["uri"] == "blacklake://hub/main/models/asr-de"


async def test_lineage_neighbourhood(api: Call) -> None:
    status, doc = await api("GET", "lineage",
                            params={"uri": "blacklake://ft/main/asr-de-ft", "depth": "2"})
    assert status == 200 and doc["center"] == "blacklake://ft/main/asr-de-ft"
    nodes = {n["id"]: n for n in doc["nodes"]}
    edges = {(e["source"], e["target"], e["kind"]) for e in doc["edges"]}
    center = nodes[doc["center"]]
    assert center["kind"] == "model" and center["center"] is True
    assert (center["repo"], center["ref"], center["path"]) == ("ft", "main", "asr-de-ft")
    assert (center["format"], center["license"]) == ("huggingface", "apache-2.0")
    assert doc["uri"] == doc["center"] and doc["depth"] == 2 and doc["truncated"] is False
    base = "blacklake://hub/main/models/asr-de"
    assert nodes[base]["label"] == "Nordlicht telephony speech recognizer"
    assert "center" not in nodes[base]
    assert (base, doc["center"], "base_model") in edges
    data = "blacklake://hub/main/datasets/callcenter-de"
    assert nodes[data]["kind"] == "dataset" and (data, doc["center"], "dataset") in edges
    weights = "blacklake://ft/main/asr-de-ft/model.safetensors"
    base_weights = f"{base}/model.safetensors"
    sharing = [e for e in doc["edges"] if e["kind"] == "shares_chunks"]
    assert [(e["source"], e["target"]) for e in sharing] == [(weights, base_weights)]
    assert 0.5 < sharing[0]["shared_fraction"] < 1
    # the shared file hangs off the card holding it (main preferred over equal tags)
    assert (base, base_weights, "contains") in edges
    assert nodes[base_weights]["kind"] == "file" and nodes[base_weights]["size"] > 0
    commit = next(n for n in doc["nodes"] if n["kind"] == "commit")
    assert commit["label"] == "Fine-tune asr-de" and commit["meta"] == {"run_id": "run-42"}
    assert (commit["id"], doc["center"], "wrote") in edges
    assert ("run:run-42", commit["id"], "produced") in edges
    assert nodes["run:run-42"] == {"id": "run:run-42", "kind": "run", "label": "run-42",
                                   "key": "run_id"}
    assert {e["kind"] for e in doc["edges"]} == {"base_model", "dataset", "contains",
                                                 "shares_chunks", "wrote", "produced"}
    # From a file inside the base model's folder: the folder is the centre, the file hangs off.
    _, inner = await api("GET", "lineage",
                         params={"uri": "blacklake://hub/main/models/asr-de/config.json"})
    assert inner["center"] == base
    kinds = {(e["source"], e["target"], e["kind"]) for e in inner["edges"]}
    assert (base, "blacklake://hub/main/models/asr-de/config.json", "contains") in kinds
    assert (base, "blacklake://ft/main/asr-de-ft", "base_model") in kinds
    base_weights = f"{base}/model.safetensors"
    assert (base, base_weights, "contains") in kinds
    assert (base_weights, weights, "shares_chunks") in kinds
    assert ("blacklake://ft/main/asr-de-ft", weights, "contains") in kinds


async def test_lineage_of_a_dataset_shows_what_was_trained_on_it(api: Call) -> None:
    data = "blacklake://hub/main/datasets/callcenter-de"
    status, doc = await api("GET", "lineage", params={"uri": data})
    assert status == 200 and doc["center"] == data
    assert next(n for n in doc["nodes"] if n["id"] == data)["kind"] == "dataset"
    edges = {(e["source"], e["target"], e["kind"]) for e in doc["edges"]}
    assert (data, "blacklake://ft/main/asr-de-ft", "dataset") in edges
    commit = next(n for n in doc["nodes"] if n["kind"] == "commit")
    assert commit["label"] == "Add the call-center dataset"
    # the run the commit names is the one the lineage store recorded (one node, both edges)
    prep = "run:dvc:prep-7"
    assert (prep, commit["id"], "produced") in edges
    run = next(n for n in doc["nodes"] if n["id"] == prep)
    assert run["recorded"] is True and run["system"] == "dvc"
    assert run["facets"]["type"] == "stage" and run["label"] == "prepare call-center audio"
    assert (prep, data, "produced") in edges  # the recorded output is this centre
    assert ("s3://raw/callcenter/2026-10.tar", prep, "consumed") in edges
    assert not any(n["id"] == "run:prep-7" for n in doc["nodes"])
    # An alias stays the centre's ref; two hops out, the fine-tune's base model shows up.
    alias = "blacklake://hub/champion/datasets/callcenter-de"
    status, deep = await api("GET", "lineage", params={"uri": alias, "depth": "2"})
    assert status == 200 and deep["center"] == alias
    deep_edges = {(e["source"], e["target"], e["kind"]) for e in deep["edges"]
                  if e["kind"] in ("base_model", "dataset")}
    assert deep_edges == {(alias, "blacklake://ft/main/asr-de-ft", "dataset"),
                          ("blacklake://hub/main/models/asr-de", "blacklake://ft/main/asr-de-ft",
                           "base_model")}


async def test_concurrent_requests_are_served(api: Call) -> None:
    import asyncio

    routes = ["repos", "repos/hub", "repos/hub/log/main", "repos/ft/tree/main", "stats"] * 3
    results = await asyncio.gather(*(api("GET", r) for r in routes))
    assert [status for status, _ in results] == [200] * len(routes)


@pytest.mark.slow  # loads the embedding model (~5 s)
async def test_search_hybrid_by_default(api: Call) -> None:
    status, doc = await api("GET", "search", params={
        "q": "transcribe German phone calls", "limit": "3", "facets": "0"})
    assert status == 200 and doc["mode"] == "hybrid" and doc["items"]
    assert doc["items"][0]["path"] in ("models/asr-de", "asr-de-ft")


async def test_stats_of_the_store_and_of_one_repo(api: Call) -> None:
    status, doc = await api("GET", "stats")
    assert status == 200 and doc["repos"] == 3 and doc["repo"] is None
    assert doc["logical_bytes"] > doc["stored_bytes"] > 0 and doc["dedup_ratio"] > 1
    _, hub = await api("GET", "stats", params={"repo": "hub"})
    assert hub["repo"] == "hub" and hub["commits"] > 0
