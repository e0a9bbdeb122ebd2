"""Plain-HTTP access to a store for tools that only speak HTTP (W&B references, DVC remotes).

:class:`~blacklake_ml.gateway.server.Gateway` is the server (connections and their limits:
:mod:`~blacklake_ml.gateway.listener`; ``Range`` rules: :mod:`~blacklake_ml.gateway.ranges`);
route sets live with the bridge that needs them and are mounted by the command that serves
them (``blacklake serve-dvc``).
"""

from blacklake_ml.gateway.listener import Limits
from blacklake_ml.gateway.server import Gateway, HttpError, Request, Route, parse_range

__all__ = ["Gateway", "HttpError", "Limits", "Request", "Route", "parse_range"]
