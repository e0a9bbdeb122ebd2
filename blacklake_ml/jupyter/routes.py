"""The route table of the REST API (patterns relative to the server's ``base_url``).

One table, so the documentation (``docs/rest-api.md``) and the authentication test can walk
every route. Path segments are repository, branch/tag/alias and ref names, which never hold
a ``/``; repository paths travel in the ``path`` query parameter.
"""

from __future__ import annotations

from typing import Any

from blacklake_ml.jupyter import handlers as h

API = "/blacklake/api"
_REPO = r"(?P<repo>[^/]+)"
_REF = r"(?P<ref>[^/]+)"
_NAME = r"(?P<name>[^/]+)"

#: ``(pattern, handler class)``; tornado matches them in order, anchored at both ends.
ROUTES: list[tuple[str, type[Any]]] = [
    (f"{API}/status", h.StatusHandler),
    (f"{API}/repos", h.ReposHandler),
    (f"{API}/repos/{_REPO}", h.RepoHandler),
    (f"{API}/repos/{_REPO}/refs", h.RefsHandler),
    (f"{API}/repos/{_REPO}/branches", h.BranchesHandler),
    (f"{API}/repos/{_REPO}/branches/{_NAME}", h.BranchHandler),
    (f"{API}/repos/{_REPO}/tags", h.TagsHandler),
    (f"{API}/repos/{_REPO}/tags/{_NAME}", h.TagHandler),
    (f"{API}/repos/{_REPO}/aliases/{_NAME}", h.AliasHandler),
    (f"{API}/repos/{_REPO}/tree/{_REF}", h.TreeHandler),
    (f"{API}/repos/{_REPO}/file/{_REF}", h.FileHandler),
    (f"{API}/repos/{_REPO}/log/{_REF}", h.LogHandler),
    (f"{API}/repos/{_REPO}/diff", h.DiffHandler),
    (f"{API}/repos/{_REPO}/merge", h.MergeHandler),
    (f"{API}/repos/{_REPO}/revert", h.RevertHandler),
    (f"{API}/repos/{_REPO}/cherry-pick", h.CherryPickHandler),
    (f"{API}/search", h.SearchHandler),
    (f"{API}/similar", h.SimilarHandler),
    (f"{API}/lineage", h.LineageHandler),
    (f"{API}/stats", h.StatsHandler),
    # Last: anything else under the API answers a JSON 404 instead of the HTML page.
    (f"{API}(?P<rest>/.*)?", h.NotFoundHandler),
]
