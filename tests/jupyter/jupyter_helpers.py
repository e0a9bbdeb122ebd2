"""Types of the REST API tests (a module of its own: ``conftest`` is ambiguous when pytest
collects ``tests/jupyter`` together with another directory that has a conftest)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

#: the ``api`` fixture: ``await api(METHOD, route, params=..., body=...)`` -> ``(status, JSON)``
Call = Callable[..., Awaitable[tuple[int, Any]]]
