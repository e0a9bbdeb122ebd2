"""Jupyter Server extension: a JSON REST API over the store under ``/blacklake/api/``.

Enabled on install by ``jupyter-config/jupyter_server_config.d/blacklake_ml.json``
(``{"ServerApp": {"jpserver_extensions": {"blacklake_ml.jupyter": true}}}``); configured with
``c.BlackLake.home`` / ``storage`` / ``catalog``. The routes are in :mod:`.routes` and
documented in ``docs/rest-api.md``. ``jupyter_server`` and ``tornado`` (extra ``jupyter``)
are imported only inside this package.
"""

from __future__ import annotations

from typing import Any

from blacklake_ml import __version__

__all__ = ["__version__"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from blacklake_ml.jupyter.app import BlackLake

    return [{"module": "blacklake_ml.jupyter.app", "app": BlackLake}]
