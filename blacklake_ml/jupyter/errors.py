"""The one place where exceptions become HTTP responses.

Every handler of the extension ends in :func:`error_response` when something fails, so a
status code (read from the error's class) and body shape are decided here and nowhere else
in the extension:

* a :class:`~blacklake_ml.errors.BlacklakeError` answers with its class's ``http_status``
  (set in :mod:`blacklake_ml.errors`, shared with the gateway: bad input 400, missing 404,
  taken 409, conflicts 409 with the conflicting paths, quota 413, missing optional
  dependency 501, cancelled 503, damaged store or failing backend 500) with the error's own
  message, which is written for users and safe to show once credentials are masked
  (:func:`~blacklake_ml.core.redact.redact`: a catalog URL in a ``CatalogError`` must not
  reach the browser with its password, whoever built the message);
* ``tornado.web.HTTPError`` (403 from authentication, 405, ...) keeps its status;
* anything else is a bug: a generic 500 message, the traceback goes to the server log only.

Bodies are ``{"message": str, "reason": str, ...}``; ``reason`` is the error class name (the
frontend may branch on it), conflicts add ``"conflicts": [paths]``, an ambiguous commit
prefix adds ``"candidates": [ids]``.
"""

from __future__ import annotations

from http.client import responses
from typing import Any

from tornado.web import HTTPError

from blacklake_ml.core.redact import redact
from blacklake_ml.errors import AmbiguousRef, BlacklakeError, ConflictError

INTERNAL_MESSAGE = "internal error in the BlackLake server extension (details are in the " \
    "Jupyter server log)"


def status_for(exc: BaseException) -> int:
    """The HTTP status for an exception (500 for anything unexpected)."""
    if isinstance(exc, HTTPError):
        return exc.status_code
    if isinstance(exc, BlacklakeError):
        return exc.http_status
    return 500


def is_expected(exc: BaseException) -> bool:
    """True for errors raised on purpose (ours or tornado's): no traceback is logged."""
    return isinstance(exc, (BlacklakeError, HTTPError))


def error_response(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """``(status, body)`` for an exception escaping a handler."""
    status = status_for(exc)
    if isinstance(exc, HTTPError):
        reason = exc.reason or responses.get(status, "Unknown")
        message = exc.log_message % exc.args if exc.log_message and exc.args else \
            exc.log_message
        return status, {"message": redact(message or reason), "reason": reason}
    if not isinstance(exc, BlacklakeError):
        return 500, {"message": INTERNAL_MESSAGE, "reason": "InternalError"}
    body: dict[str, Any] = {"message": redact(str(exc)), "reason": type(exc).__name__}
    if isinstance(exc, ConflictError):
        body["conflicts"] = list(exc.paths)
    if isinstance(exc, AmbiguousRef):
        body["candidates"] = list(exc.candidates)
    return status, body
