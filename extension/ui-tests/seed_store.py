"""Seed the store the UI tests browse (run by jupyter_server_test_config.py).

``python seed_store.py HOME``: the demo repositories (``python -m blacklake_ml.demo``), plus
``ui-fixtures``, which holds what the UI tests need beyond the demo and do not expect the demo
to have:

* a model card and a commit message with HTML and script in them (must render inert);
* ``many/``: a folder of 10,500 small files (virtualised, paginated listing);
* branch ``feature``, merged into ``main`` (the history graph's lanes and merge), and branch
  ``conflict``, which changes ``notes.txt`` as ``feature`` did, differently (a merge conflict);
* a small text file and a model card changed between commits (text and model-facts diffs);
* ``safety/``: a pickle that would run a shell command if loaded (never loaded: the scanner
  calls it unsafe), an unrecognised binary (not verified) and a text file (safe).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HOSTILE_CARD = """---
license: mit
language: [de]
pipeline_tag: text-classification
tags: [ui-test, <b>bold-tag</b>]
---
# Hostile card <script>window.__blacklakePwned = 'script';</script>

This card tries to run code: <img src="x" onerror="window.__blacklakePwned = 'img'"> and
<a href="javascript:window.__blacklakePwned='link'">a javascript: link</a> and
<iframe srcdoc="<script>parent.__blacklakePwned='iframe'</script>"></iframe>.

It is a German sentiment model for the UI tests.
"""

N_MANY = 10_500
#: a protocol-0 pickle calling os.system: what the scanner must flag (the UI tests never load it)
EVIL_PICKLE = b"cos\nsystem\n(S'echo never-run'\ntR."


def seed(home: str) -> None:
    from blacklake_ml import Store
    from blacklake_ml.demo import seed as seed_demo
    from blacklake_ml.errors import RepoExists

    with Store.open(home) as store:
        seed_demo(store)
        try:
            repo = store.create_repo("ui-fixtures", "UI test fixtures: <i>html</i> in a description")
        except RepoExists:
            return
        with repo.transaction("main", "add the hostile model card <script>alert(1)</script>") as tx:
            tx.put_bytes(HOSTILE_CARD.encode(), "hostile/README.md")
            tx.put_bytes(b'{"architectures": ["BertForSequenceClassification"]}',
                         "hostile/config.json")
            tx.put_bytes(b"alpha\nbeta\ngamma\n", "notes.txt", {"owner": "ui-tests"})
            tx.put_bytes(EVIL_PICKLE, "safety/evil.pkl")
            tx.put_bytes(b"\x00\x01\x02BLOB\xff", "safety/blob.bin")
            tx.put_bytes(b"plain text\n", "safety/notes.txt")
        with repo.transaction("main", f"add {N_MANY} small files") as tx:
            for i in range(N_MANY):
                tx.put_bytes(f"row {i}\n".encode(), f"many/file-{i:05d}.txt")
        repo.create_branch("feature", "main")
        repo.create_branch("conflict", "main")
        repo.put_bytes(b"alpha\nbeta (edited on conflict)\ngamma\n", "notes.txt",
                       branch="conflict", message="conflict: edit notes differently")
        repo.put_bytes(b"alpha\nbeta (edited on feature)\ngamma\ndelta\n", "notes.txt",
                       branch="feature", message="feature: edit notes", meta={"owner": "feature"})
        repo.put_bytes(b"new on feature\n", "feature.txt", branch="feature",
                       message="feature: add feature.txt")
        repo.put_bytes(HOSTILE_CARD.replace("license: mit", "license: apache-2.0").encode(),
                       "hostile/README.md", branch="feature",
                       message="feature: relicense the hostile card")
        repo.put_bytes(b"main moves on\n", "main.txt", branch="main",
                       message="main: add main.txt")
        repo.merge("feature", "main", message="Merge feature into main")
        repo.create_tag("ui-v1", "main")


def main() -> int:
    home = sys.argv[1]
    t0 = time.monotonic()
    seed(home)
    Path(home, ".ui-seeded").write_text("ok\n")
    print(f"seeded {home} in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
