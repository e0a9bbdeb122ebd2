"""Masking credentials in anything shown to a person or written to a log.

Store locations are URLs that may carry secrets: ``postgresql+psycopg://user:pw@db/x``,
``s3://KEY:SECRET@bucket``, presigned ``https://…?X-Amz-Signature=…``, Azure ``?sig=…``
SAS tokens, ``?password=…`` in a DSN. Every error message, log line and API answer that can
contain one goes through :func:`redact` (free text) or :func:`redact_url` (one URL), both where
the message is built and again at the boundaries (CLI error printer, Jupyter error mapping,
``init``/status output, log filter) so a message built elsewhere cannot slip through.

Pure standard library (``core`` must stay free of SQLAlchemy; the catalog renders its own
URLs with SQLAlchemy's ``hide_password`` first and then passes them through here too).
"""

from __future__ import annotations

import logging
import re
import traceback
from urllib.parse import parse_qsl, quote

#: what replaces a secret (the same marker SQLAlchemy's ``hide_password`` uses)
MASK = "***"

#: parameter names whose values are secrets; matched against the name lower-cased with
#: separators removed, so ``X-Amz-Signature``, ``access_key``, ``AccountKey`` and
#: ``sslpassword`` all hit
_SECRET_WORDS = ("password", "passwd", "passphrase", "pwd", "secret", "token", "signature",
                 "credential", "apikey", "accesskey", "accountkey", "privatekey", "sessionkey",
                 "sastoken")
#: names that are secrets only as URL query parameters (``?key=`` API keys, Azure ``?sig=``);
#: in free text ``key=`` or ``code:`` mean too many other things to mask them, and
#: ``Authorization`` headers have their own rule (which keeps the scheme word)
_QUERY_EXACT = {"key", "sig", "sas", "pass", "auth", "code", "authorization"}

#: ``scheme://rest`` up to whitespace, a quote or a closing bracket (URLs inside messages are
#: usually quoted or parenthesised)
_URL_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`)\]]+")
#: ``user:password@`` outside a URL (e.g. a string SQLAlchemy could not parse as one)
_USERINFO_RE = re.compile(r"(?<![\w/:])([\w.%+\-]+):([^\s@/:'\"]+)@(?=[\w\[])")
#: ``Authorization: Bearer abc`` / ``authorization=Basic abc`` headers
_AUTH_HEADER_RE = re.compile(
    r"(?i)\b((?:proxy-)?authorization|x-api-key|x-auth-token|cookie)(\s*[:=]\s*)"
    r"(?:(bearer|basic|token|digest|aws4-hmac-sha256|sharedkey)\s+)?[^\s,;'\"]+")
#: a bare ``Bearer abc``
_BEARER_RE = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*")
#: ``name=value`` / ``name: value`` pairs (libpq DSNs, fsspec options, dict reprs)
_PAIR_RE = re.compile(
    r"(?P<q>['\"]?)(?P<name>[A-Za-z][\w.\-]*)(?P=q)(?P<sep>\s*[=:]\s*)"
    r"(?P<value>'[^']*'|\"[^\"]*\"|[^\s&;,'\"})\]]+)")


def is_secret_name(name: str, *, query: bool = False) -> bool:
    """True when a parameter called ``name`` holds a credential (``password``, ``token``,
    ``X-Amz-Signature``, …); with ``query``, also the short names only URL query strings use
    for secrets (``key``, ``sig``, ``code``, …)."""
    flat = re.sub(r"[^a-z0-9]", "", name.lower())
    return (query and flat in _QUERY_EXACT) or any(w in flat for w in _SECRET_WORDS)


def _mask_query(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(is_secret_name(k, query=True) for k, _ in pairs):
        return query
    # Rebuild only when something is masked, so an innocent URL is shown exactly as given.
    return "&".join(
        f"{quote(k, safe='')}={MASK if is_secret_name(k, query=True) else quote(v, safe='')}"
        for k, v in pairs)


def redact_url(url: str) -> str:
    """``url`` with its password and secret query parameters replaced by ``***``.

    ``postgresql+psycopg://user:pw@host/db`` → ``postgresql+psycopg://user:***@host/db``;
    ``s3://b/k?X-Amz-Signature=…&region=x`` → ``s3://b/k?X-Amz-Signature=***&region=x``.
    The user name is kept (it tells which account is meant). Strings without ``://`` come
    back unchanged.

    Deliberately not :func:`urllib.parse.urlsplit`: a password holding an unescaped ``/``,
    ``?`` or ``#`` would end its netloc early and leave part of the secret in the "path".
    Everything before the *last* ``@`` that contains a ``:`` is taken as userinfo, which at
    worst masks a little too much of an odd URL, never too little.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    userinfo, at, after = rest.rpartition("@")
    prefix = ""
    if at and ":" in userinfo:
        prefix, rest = f"{userinfo.split(':', 1)[0]}:{MASK}@", after
    main, hsh, fragment = rest.partition("#")
    path, qmark, query = main.partition("?")
    return f"{scheme}://{prefix}{path}{qmark}{_mask_query(query)}{hsh}{_mask_query(fragment)}"


def _redact_loose(text: str) -> str:
    """The rules that do not need a parsable URL: userinfo, headers, secret pairs."""
    text = _USERINFO_RE.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    text = _AUTH_HEADER_RE.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) + ' ' if m.group(3) else ''}{MASK}",
        text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)} {MASK}", text)

    def pair(m: re.Match[str]) -> str:
        if not is_secret_name(m.group("name")) or m.group("value").strip("'\"") == MASK:
            return m.group(0)
        value = m.group("value")
        quote_char = value[0] if value[:1] in ("'", '"') else ""
        return (f"{m.group('q')}{m.group('name')}{m.group('q')}{m.group('sep')}"
                f"{quote_char}{MASK}{quote_char}")

    return _PAIR_RE.sub(pair, text)


def redact(text: str) -> str:
    """``text`` (an error message, a log line) with every credential masked.

    Masks URL passwords and secret query parameters (each URL found goes through
    :func:`redact_url`), ``user:password@host`` outside URLs, ``Authorization``/``Bearer``
    headers and ``password=…``/``token: …``-style pairs. Idempotent.
    """
    if not text:
        return text
    text = _URL_RE.sub(lambda m: redact_url(m.group(0)), text)
    return _redact_loose(text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks credentials in a record's message and traceback.

    Attach it to a logger (``logger.addFilter(RedactingFilter())``): the record's message is
    formatted and redacted once, and its traceback text is pre-rendered redacted (standard
    formatters print ``exc_text`` when it is set instead of formatting ``exc_info`` again).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: let logging report it
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info))
                                     .rstrip("\n"))
        return True


def install_log_redaction(logger: logging.Logger) -> logging.Logger:
    """Add one :class:`RedactingFilter` to ``logger`` (idempotent); returns the logger."""
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


__all__ = ["MASK", "RedactingFilter", "install_log_redaction", "is_secret_name", "redact",
           "redact_url"]
