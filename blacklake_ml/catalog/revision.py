"""The catalog schema revision this version of BlackLake writes (the newest migration in
``migrations/versions``; ``tests/test_catalog_conformance.py`` checks they agree)."""

HEAD_REVISION = "0005"
