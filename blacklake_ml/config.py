"""Configuration: the one place that reads environment variables and the config file.

Precedence: explicit arguments > environment (``BLACKLAKE_*``) > TOML config file
(``$BLACKLAKE_CONFIG`` or ``$BLACKLAKE_HOME/config.toml``) > defaults. The embedded default
needs no set-up: objects under ``$BLACKLAKE_HOME/objects`` and ``$BLACKLAKE_HOME/catalog.sqlite``.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from blacklake_ml.core.redact import MASK, redact, redact_url
from blacklake_ml.errors import InvalidInput

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_HOME = "BLACKLAKE_HOME"
ENV_STORAGE = "BLACKLAKE_STORAGE"
ENV_CATALOG = "BLACKLAKE_CATALOG"
ENV_CONFIG = "BLACKLAKE_CONFIG"
ENV_AUTHOR = "BLACKLAKE_AUTHOR"
ENV_STORAGE_OPTIONS = "BLACKLAKE_STORAGE_OPTIONS"
ENV_FSYNC = "BLACKLAKE_FSYNC"
ENV_DEBUG = "BLACKLAKE_DEBUG"
ENV_SEARCH_MODEL = "BLACKLAKE_SEARCH_MODEL"
#: the token of ``blacklake serve`` / ``serve-dvc`` (keeps it out of the process list)
ENV_SERVE_TOKEN = "BLACKLAKE_SERVE_TOKEN"


@dataclass(frozen=True)
class Config:
    """Where the store lives and how it behaves."""

    home: Path
    storage: str
    catalog: str
    storage_options: dict[str, Any] = field(default_factory=dict)
    author: str = ""
    #: fsync pack files and their directory before a ref moves (power-loss durability)
    fsync: bool = True
    #: seconds a new pack is protected from gc, and a retired pack is kept for readers
    gc_grace: float = 3600.0
    #: local sentence-transformers model directory for dense search ('' = bundled MiniLM)
    search_model: str = ""

    def __repr__(self) -> str:
        # A Config ends up in logs and tracebacks: URLs with their passwords masked, and
        # storage option values (keys, secrets, tokens) never shown.
        options = {k: MASK for k in self.storage_options}
        return (f"Config(home={str(self.home)!r}, storage={redact_url(self.storage)!r}, "
                f"catalog={redact_url(self.catalog)!r}, storage_options={options!r}, "
                f"author={self.author!r}, fsync={self.fsync!r}, gc_grace={self.gc_grace!r}, "
                f"search_model={self.search_model!r})")

    def with_overrides(self, **kw: Any) -> Config:
        """A copy with some fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(home: str | os.PathLike[str] | None = None, *,
                env: dict[str, str] | None = None) -> Config:
    """Build the effective :class:`Config` from arguments, environment and config file."""
    env = dict(os.environ if env is None else env)
    home_path = Path(home or env.get(ENV_HOME) or "~/.blacklake").expanduser()
    cfg_path = Path(env[ENV_CONFIG]).expanduser() if env.get(ENV_CONFIG) else \
        home_path / "config.toml"
    file_cfg: dict[str, Any] = {}
    if cfg_path.is_file():
        try:
            file_cfg = tomllib.loads(cfg_path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            # the file holds the catalog/storage URLs: never echo a fragment of it unmasked
            raise InvalidInput(redact(f"cannot parse config file {cfg_path}: {exc}")) from None
    elif env.get(ENV_CONFIG):
        raise InvalidInput(f"config file {cfg_path} does not exist")
    storage = env.get(ENV_STORAGE) or file_cfg.get("storage") or str(home_path / "objects")
    catalog = env.get(ENV_CATALOG) or file_cfg.get("catalog") or \
        f"sqlite:///{home_path / 'catalog.sqlite'}"
    options: dict[str, Any] = dict(file_cfg.get("storage_options") or {})
    if env.get(ENV_STORAGE_OPTIONS):
        try:
            options.update(json.loads(env[ENV_STORAGE_OPTIONS]))
        except json.JSONDecodeError as exc:
            # position only: the variable's text holds credentials
            raise InvalidInput(f"{ENV_STORAGE_OPTIONS} is not JSON: {exc.msg} at line "
                               f"{exc.lineno} column {exc.colno}") from None
    author = env.get(ENV_AUTHOR) or file_cfg.get("author") or _default_author()
    fsync = _truthy(env[ENV_FSYNC]) if ENV_FSYNC in env else bool(file_cfg.get("fsync", True))
    grace = float(file_cfg.get("gc_grace", 3600.0))
    search_model = env.get(ENV_SEARCH_MODEL) or str(file_cfg.get("search_model", ""))
    return Config(home=home_path, storage=str(storage), catalog=str(catalog),
                  storage_options=options, author=str(author), fsync=fsync, gc_grace=grace,
                  search_model=search_model)


def debug_enabled(env: dict[str, str] | None = None) -> bool:
    """True when ``BLACKLAKE_DEBUG`` asks for tracebacks instead of one-line errors."""
    value = (os.environ if env is None else env).get(ENV_DEBUG, "")
    return _truthy(value)


def serve_token_from_env(env: dict[str, str] | None = None) -> str | None:
    """The gateway token in ``BLACKLAKE_SERVE_TOKEN`` (surrounding whitespace stripped), or
    None when it is unset or empty."""
    value = (os.environ if env is None else env).get(ENV_SERVE_TOKEN, "").strip()
    return value or None


def _default_author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
