"""Helpers of the notebook-widget tests (a module of its own: ``conftest`` is ambiguous)."""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest


def need(module: str, extra: str) -> Any:
    """Import ``module``; skip (a developer machine) or fail (CI) when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{module} is not installed: pip install -e '.[{extra}]'",
                    allow_module_level=True)


class Frontend:
    """Plays the browser's side of one widget: custom messages in, answers and state out."""

    def __init__(self, widget: Any) -> None:
        self.widget = widget
        self.sent: list[tuple[dict[str, Any], list[bytes]]] = []
        widget.send = lambda content, buffers=None: self.sent.append((content, buffers or []))
        self._n = 0

    def invoke(self, name: str, msg: Any) -> dict[str, Any]:
        """What ``experimental.invoke(name, msg)`` does: a custom comm message; returns the
        answer the widget sent back for it."""
        self._n += 1
        rid = f"req-{self._n}"
        self.widget._handle_msg({"content": {"data": {"method": "custom", "content": {
            "kind": "anywidget-command", "id": rid, "name": name, "msg": msg}}},
            "buffers": []})
        answers = [c for c, _ in self.sent if c.get("id") == rid]
        assert len(answers) == 1, self.sent
        assert answers[0]["kind"] == "anywidget-command-response"
        return answers[0]["response"]

    def set_state(self, **state: Any) -> None:
        """What ``model.set(...); model.save_changes()`` does in the browser."""
        self.widget._handle_msg({"content": {"data": {"method": "update", "state": state}},
                                 "buffers": []})
