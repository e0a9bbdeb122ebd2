"""The Jupyter Server extension application (``c.BlackLake.*`` configuration)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode

from blacklake_ml.core.redact import install_log_redaction
from blacklake_ml.jupyter.handlers import RUNNER_KEY
from blacklake_ml.jupyter.routes import ROUTES
from blacklake_ml.jupyter.runner import StoreRunner

if TYPE_CHECKING:
    from blacklake_ml.api import Store


class BlackLake(ExtensionApp):
    """Serves the BlackLake REST API under ``/blacklake/api/`` over one store.

    The store is the user's embedded default (``BLACKLAKE_HOME``, ``~/.blacklake``, or the
    ``BLACKLAKE_*`` settings and config file) unless configured here, e.g. in
    ``jupyter_server_config.py``::

        c.BlackLake.home = "/data/blacklake"
        c.BlackLake.storage = "s3://ml-artifacts/blacklake"
        c.BlackLake.catalog = "postgresql+psycopg://blacklake@db/blacklake"

    It is opened on first use, on the extension's store thread.
    """

    name = "blacklake"
    load_other_extensions = True

    home = Unicode(None, allow_none=True, help=(
        "BlackLake home directory (default: $BLACKLAKE_HOME or ~/.blacklake); holds the "
        "embedded store and config.toml.")).tag(config=True)
    storage = Unicode(None, allow_none=True, help=(
        "Object storage URL or path overriding the home's (e.g. s3://bucket/prefix)."
    )).tag(config=True)
    catalog = Unicode(None, allow_none=True, help=(
        "Catalog SQLAlchemy URL overriding the home's (e.g. postgresql+psycopg://...)."
    )).tag(config=True)

    runner: StoreRunner | None = None

    def open_store(self) -> Store:
        """Open the configured store (called on the store thread, on first use)."""
        from blacklake_ml.api import Store

        store = Store.open(self.home or None, storage=self.storage or None,
                           catalog=self.catalog or None)
        return cast("Store", store)  # Store.open is the service's classmethod: cls is ours

    def initialize_settings(self) -> None:
        """Create the store runner (the store itself opens lazily)."""
        self.runner = StoreRunner(self.open_store)
        self.settings[RUNNER_KEY] = self.runner
        # The handlers log through the server's logger (a store that fails to open logs its
        # traceback): mask credentials in those records.
        for logger in {id(x): x for x in (self.log, getattr(self.serverapp, "log", None))
                       if isinstance(x, logging.Logger)}.values():
            install_log_redaction(logger)
        self.log.info("BlackLake API at %sblacklake/api/ (store: %s)",
                      self.serverapp.base_url if self.serverapp else "/",
                      self.home or "default")

    def initialize_handlers(self) -> None:
        """Register the route table."""
        self.handlers.extend(ROUTES)

    async def stop_extension(self) -> None:
        """Close the store and stop its thread."""
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await asyncio.get_running_loop().run_in_executor(None, runner.close)
