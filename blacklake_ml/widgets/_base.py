"""What every BlackLake widget shares: the store, selection, errors and command plumbing.

JavaScript → Python requests are anywidget commands (``experimental.invoke`` in the browser,
:func:`store_command` here). A command never raises into anywidget: an exception would leave
the browser waiting for an answer until its timeout. It answers ``{"ok": true, ...}`` or
``{"ok": false, "error": message}`` and sets the synced ``error`` trait, which the widget
shows. Messages come from the browser, so their fields are type-checked (:func:`text`,
:func:`number`) before they reach the store.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from blacklake_ml.errors import BlacklakeError, InvalidInput, MissingDependency

try:
    import anywidget
    import traitlets
    from anywidget.experimental import command
except ImportError:  # pragma: no cover - exercised only without the extra
    raise MissingDependency("blacklake_ml.widgets", "notebook") from None

_log = logging.getLogger("blacklake_ml.widgets")

#: the JavaScript helpers every widget module starts with (see static/_common.js)
_COMMON_JS = "_common.js"


def asset(name: str) -> str:
    """The text of ``static/<name>`` (package data)."""
    return resources.files("blacklake_ml.widgets").joinpath("static", name).read_text("utf-8")


def esm(name: str) -> str:
    """The ES module of one widget: the shared helpers followed by the widget's own code.

    anywidget loads ``_esm`` from a string, where relative imports cannot resolve, so each
    widget's module is made self-contained by prepending the helpers (a two-file bundle).
    """
    return asset(_COMMON_JS) + "\n" + asset(name)


def text(msg: Mapping[str, Any], key: str, default: str | None = None, *,
         limit: int = 4096) -> str | None:
    """A string field of a browser message (``default`` when absent or null)."""
    value = msg.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string")
    if len(value) > limit:
        raise InvalidInput(f"{key} is longer than {limit} characters")
    return value


def number(msg: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    """An integer field of a browser message, within ``[low, high]``."""
    value = msg.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise InvalidInput(f"{key} must be an integer")
    if not low <= int(value) <= high:
        raise InvalidInput(f"{key} must be from {low} to {high}")
    return int(value)


def describe_error(exc: BaseException) -> str:
    """One line for the user: our errors' own messages, a generic line for bugs."""
    if isinstance(exc, BlacklakeError):
        return str(exc) or type(exc).__name__
    _log.exception("BlackLake widget command failed")
    return f"unexpected {type(exc).__name__}: {exc}"


def store_command(fn: Callable[[Any, dict[str, Any]], Mapping[str, Any] | None]) -> Any:
    """Turn ``fn(widget, msg) -> dict | None`` into an anywidget command that always answers
    (see the module docstring)."""

    @functools.wraps(fn)
    def run(widget: StoreWidget, msg: object, buffers: list[bytes]) -> tuple[Any, list[bytes]]:
        args = msg if isinstance(msg, dict) else {}
        try:
            out = fn(widget, args) or {}
        except Exception as exc:  # noqa: BLE001 - reported to the browser, never raised
            widget.error = describe_error(exc)
            return {"ok": False, "error": widget.error}, []
        widget.error = ""
        return {"ok": True, **out}, []

    return command(run)


class StoreWidget(anywidget.AnyWidget):  # type: ignore[misc]
    """Base of the BlackLake widgets: a store, a selected URI and an error line.

    ``store`` is a :class:`blacklake_ml.Store`; without one the configured default store
    (``BLACKLAKE_HOME`` …) is opened on first use and closed by :meth:`close`.
    """

    _css = asset("widgets.css")

    #: URI of what the user selected ('' = nothing yet)
    selected = traitlets.Unicode("").tag(sync=True)
    #: the last command's error message ('' = none)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, *, store: Any = None, **kwargs: Any) -> None:
        self._store = store
        self._own_store = False
        self._select_callbacks: list[Callable[[str], Any]] = []
        super().__init__(**kwargs)
        self.observe(self._selection_changed, names="selected")

    # -- store --------------------------------------------------------------------------
    @property
    def store(self) -> Any:
        """The store this widget reads."""
        if self._store is None:
            from blacklake_ml.api import Store

            self._store = Store.open()
            self._own_store = True
        return self._store

    def close(self) -> None:
        """Close the widget (and the store, if the widget opened it)."""
        if self._own_store and self._store is not None:
            self._store.close()
            self._store = None
        super().close()

    # -- selection ----------------------------------------------------------------------
    @property
    def value(self) -> str | None:
        """The selected URI, or None."""
        return self.selected or None

    def on_select(self, callback: Callable[[str], Any]) -> Callable[[str], Any]:
        """Call ``callback(uri)`` whenever the user selects something; returns it (so it
        can be used as a decorator)."""
        self._select_callbacks.append(callback)
        return callback

    def _selection_changed(self, change: Mapping[str, Any]) -> None:
        uri = change["new"]
        if not uri:
            return
        for callback in list(self._select_callbacks):
            try:
                callback(uri)
            except Exception:  # noqa: BLE001 - a user's callback must not break the widget
                _log.exception("on_select callback failed")
