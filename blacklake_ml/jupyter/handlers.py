"""Thin HTTP handlers: parse the request, run ONE view/action on the store thread, reply JSON.

Authentication comes before method dispatch: :meth:`BlackLakeHandler.prepare` answers 403 to
any request without credentials, whatever its method — also one the handler does not
implement, which tornado would otherwise answer 405 before ``@tornado.web.authenticated``
ran (so an anonymous client could map which routes accept writes). With credentials, a wrong
method stays 405. Every implemented method is ``@tornado.web.authenticated`` as well (defence
in depth). tests/jupyter/test_jupyter_auth.py requests every route of
:data:`~blacklake_ml.jupyter.routes.ROUTES` with every method, without and with a token.
Errors of any kind end in :meth:`BlackLakeHandler.write_error`, which asks
:func:`~blacklake_ml.jupyter.errors.error_response` for the status and body.
"""

from __future__ import annotations

from collections.abc import Callable
from http.client import responses
from typing import Any, TypeVar

import orjson
import tornado.web
from jupyter_server.base.handlers import APIHandler

from blacklake_ml import __version__
from blacklake_ml.errors import InvalidInput, NotFound
from blacklake_ml.jupyter import actions, views
from blacklake_ml.jupyter.errors import error_response, is_expected
from blacklake_ml.jupyter.params import Body, Page, as_bool, as_int, json_body, page
from blacklake_ml.jupyter.runner import StoreRunner
from blacklake_ml.search import lineage

#: key of the :class:`StoreRunner` in the tornado application settings
RUNNER_KEY = "blacklake_runner"
T = TypeVar("T")


class BlackLakeHandler(APIHandler):
    """Base of every route: store work runs on the store thread; errors map in one place."""

    async def prepare(self) -> None:  # type: ignore[override]
        """Refuse an unauthenticated request (403) before tornado picks the method.

        ``jupyter_server`` checks credentials here only when the server sets
        ``allow_unauthenticated_access = False``; otherwise the first check is the
        ``@authenticated`` decorator, which a method the handler lacks never reaches.
        ``OPTIONS`` is exempt: it is the CORS preflight, sent without credentials by
        browsers, and answers no data.
        """
        await super().prepare()
        if self.current_user is None and self.request.method != "OPTIONS":
            raise tornado.web.HTTPError(403)

    @property
    def runner(self) -> StoreRunner:
        """The extension's store runner."""
        return self.settings[RUNNER_KEY]  # type: ignore[no-any-return]

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(store, *args, **kwargs)`` on the store thread."""
        return await self.runner.call(fn, *args, **kwargs)

    def reply(self, doc: Any, status: int = 200) -> None:
        """Send ``doc`` as the JSON response."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps(doc, default=str))

    # -- request parsing ---------------------------------------------------------------------
    def arg(self, name: str, default: str | None = None) -> str | None:
        """A query parameter, unstripped (paths may hold spaces)."""
        return self.get_query_argument(name, default, strip=False)

    def need(self, name: str) -> str:
        """A required, non-empty query parameter."""
        value = self.arg(name)
        if not value:
            raise InvalidInput(f"query parameter {name!r} is required")
        return value

    def paging(self, default: int = 100, maximum: int = 1000) -> Page:
        """``offset``/``limit`` of a list request."""
        return page(self.arg("offset"), self.arg("limit"), default=default, maximum=maximum)

    def body(self, *allowed: str) -> Body:
        """The JSON body; fields other than ``allowed`` are refused."""
        return Body(json_body(self.request.body or b""), allowed)

    # -- errors ------------------------------------------------------------------------------
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every failure's response: ``{"message", "reason", ...}`` (no traceback, ever)."""
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        if exc is None:
            reason = responses.get(status_code, "Unknown")
            status, body = status_code, {"message": reason, "reason": reason}
        else:
            status, body = error_response(exc)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps(body, default=str))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log bugs with their traceback; errors raised on purpose are answered, not logged."""
        if value is not None and is_expected(value):
            if isinstance(value, tornado.web.HTTPError):
                super().log_exception(typ, value, tb)
            else:
                self.log.debug("BlackLake API %s %s: %s: %s", self.request.method,
                               self.request.uri, type(value).__name__, value)
            return
        self.log.error("BlackLake API %s %s failed", self.request.method, self.request.uri,
                       exc_info=(typ, value, tb))


# -- status and repositories ----------------------------------------------------------------------
class StatusHandler(BlackLakeHandler):
    """``GET status``: extension version, store location and health, counts."""

    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            doc = await self.run(views.status)
        except Exception as exc:  # the status route reports the failure in its body
            if not is_expected(exc):
                self.log.exception("BlackLake store unavailable")
            doc = {"ok": False, "extension": "blacklake_ml", "version": __version__,
                   "api_version": views.API_VERSION, "store": None,
                   "dense_search": None, "counts": None, "empty": None,
                   "error": error_response(exc)[1]}
        self.reply(doc)


class ReposHandler(BlackLakeHandler):
    """``GET repos``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await self.run(views.list_repos, self.paging()))


class RepoHandler(BlackLakeHandler):
    """``GET repos/{repo}``."""

    @tornado.web.authenticated
    async def get(self, repo: str) -> None:
        self.reply(await self.run(views.repo_detail, repo))


class RefsHandler(BlackLakeHandler):
    """``GET repos/{repo}/refs?kind=``."""

    @tornado.web.authenticated
    async def get(self, repo: str) -> None:
        self.reply(await self.run(views.list_refs, repo, self.arg("kind") or None,
                                  self.paging()))


class BranchesHandler(BlackLakeHandler):
    """``GET|POST repos/{repo}/branches``."""

    @tornado.web.authenticated
    async def get(self, repo: str) -> None:
        self.reply(await self.run(views.list_refs, repo, "branch", self.paging()))

    @tornado.web.authenticated
    async def post(self, repo: str) -> None:
        b = self.body("name", "from")
        self.reply(await self.run(actions.create_branch, repo, b.req("name"), b.text("from")),
                   201)


class BranchHandler(BlackLakeHandler):
    """``DELETE repos/{repo}/branches/{name}``."""

    @tornado.web.authenticated
    async def delete(self, repo: str, name: str) -> None:
        self.reply(await self.run(actions.delete_branch, repo, name))


class TagsHandler(BlackLakeHandler):
    """``GET|POST repos/{repo}/tags``."""

    @tornado.web.authenticated
    async def get(self, repo: str) -> None:
        self.reply(await self.run(views.list_refs, repo, "tag", self.paging()))

    @tornado.web.authenticated
    async def post(self, repo: str) -> None:
        b = self.body("name", "ref")
        self.reply(await self.run(actions.create_tag, repo, b.req("name"), b.req("ref")), 201)


class TagHandler(BlackLakeHandler):
    """``DELETE repos/{repo}/tags/{name}``."""

    @tornado.web.authenticated
    async def delete(self, repo: str, name: str) -> None:
        self.reply(await self.run(actions.delete_tag, repo, name))


class AliasHandler(BlackLakeHandler):
    """``GET|PUT repos/{repo}/aliases/{name}``."""

    @tornado.web.authenticated
    async def get(self, repo: str, name: str) -> None:
        self.reply(await self.run(views.alias_detail, repo, name, self.paging()))

    @tornado.web.authenticated
    async def put(self, repo: str, name: str) -> None:
        b = self.body("ref", "expect", "reason")
        doc = await self.run(actions.set_alias, repo, name, b.req("ref"), b.text("expect"),
                             b.text("reason", default="") or "")
        self.reply(doc, 201 if doc["action"] == "create" else 200)


# -- trees, files, history --------------------------------------------------------------------------
class TreeHandler(BlackLakeHandler):
    """``GET repos/{repo}/tree/{ref}?path=&offset=&limit=``."""

    @tornado.web.authenticated
    async def get(self, repo: str, ref: str) -> None:
        self.reply(await self.run(views.tree, repo, ref, self.arg("path", "") or "",
                                  self.paging()))


class FileHandler(BlackLakeHandler):
    """``GET repos/{repo}/file/{ref}?path=&md5=``."""

    @tornado.web.authenticated
    async def get(self, repo: str, ref: str) -> None:
        md5 = as_bool(self.arg("md5"), "md5")
        self.reply(await self.run(views.file_info, repo, ref, self.arg("path", "") or "",
                                  md5=md5))


class LogHandler(BlackLakeHandler):
    """``GET repos/{repo}/log/{ref}?path=&offset=&limit=``."""

    @tornado.web.authenticated
    async def get(self, repo: str, ref: str) -> None:
        self.reply(await self.run(views.log, repo, ref, self.arg("path", "") or "",
                                  self.paging()))


class DiffHandler(BlackLakeHandler):
    """``GET repos/{repo}/diff?a=&b=&path=&offset=&limit=&details=``."""

    @tornado.web.authenticated
    async def get(self, repo: str) -> None:
        a, b = self.need("a"), self.need("b")
        details = as_bool(self.arg("details"), "details", True)
        self.reply(await self.run(views.diff, repo, a, b, self.arg("path", "") or "",
                                  self.paging(), details=details))


# -- merging --------------------------------------------------------------------------------------------
class MergeHandler(BlackLakeHandler):
    """``POST repos/{repo}/merge`` {source, target, message?, strategy?, no_ff?}."""

    @tornado.web.authenticated
    async def post(self, repo: str) -> None:
        b = self.body("source", "target", "message", "strategy", "no_ff")
        self.reply(await self.run(actions.merge, repo, b.req("source"), b.req("target"),
                                  message=b.text("message"), strategy=b.strategy("strategy"),
                                  no_ff=b.flag("no_ff")))


class RevertHandler(BlackLakeHandler):
    """``POST repos/{repo}/revert`` {commit, branch, message?}."""

    @tornado.web.authenticated
    async def post(self, repo: str) -> None:
        b = self.body("commit", "branch", "message")
        self.reply(await self.run(actions.revert, repo, b.req("commit"), b.req("branch"),
                                  b.text("message")))


class CherryPickHandler(BlackLakeHandler):
    """``POST repos/{repo}/cherry-pick`` {commit, target, message?}."""

    @tornado.web.authenticated
    async def post(self, repo: str) -> None:
        b = self.body("commit", "target", "message")
        self.reply(await self.run(actions.cherry_pick, repo, b.req("commit"), b.req("target"),
                                  b.text("message")))


# -- search, lineage, maintenance -------------------------------------------------------------------------
class SearchHandler(BlackLakeHandler):
    """``GET search?q=&repo=&filter=K=V…&mode=&offset=&limit=&facets=``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.need("q")
        k = self.arg("k")
        paging = self.paging(default=20, maximum=100)
        if k is not None and self.arg("limit") is None:
            paging = Page(paging.offset, as_int(k, "k", 20, 1, 100))
        self.reply(await self.run(
            views.search, query, repo=self.arg("repo") or None,
            filters=self.get_query_arguments("filter", strip=False),
            mode=self.arg("mode") or "hybrid", page=paging,
            facets=as_bool(self.arg("facets"), "facets", True)))


class SimilarHandler(BlackLakeHandler):
    """``GET similar?uri=&offset=&limit=``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await self.run(views.similar, self.need("uri"), self.paging(default=20)))


class LineageHandler(BlackLakeHandler):
    """``GET lineage?uri=&depth=`` (:func:`blacklake_ml.search.lineage.neighbourhood`)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        depth = as_int(self.arg("depth"), "depth", 1, 1, lineage.MAX_DEPTH)
        self.reply(await self.run(lineage.neighbourhood, self.need("uri"), depth))


class StatsHandler(BlackLakeHandler):
    """``GET stats?repo=``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await self.run(views.stats, self.arg("repo") or None))


class NotFoundHandler(BlackLakeHandler):
    """Any other path under the API: a JSON 404 (authenticated like the rest)."""

    def _missing(self) -> None:
        raise NotFound(f"no BlackLake API route {self.request.method} {self.request.path}")

    @tornado.web.authenticated
    def get(self, rest: str | None = None) -> None:
        self._missing()

    @tornado.web.authenticated
    def post(self, rest: str | None = None) -> None:
        self._missing()

    @tornado.web.authenticated
    def put(self, rest: str | None = None) -> None:
        self._missing()

    @tornado.web.authenticated
    def delete(self, rest: str | None = None) -> None:
        self._missing()

    @tornado.web.authenticated
    def patch(self, rest: str | None = None) -> None:
        self._missing()

