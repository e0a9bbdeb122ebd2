"""Where ``blacklake serve`` and ``serve-dvc`` get their token: ``--token``, ``--token-file``,
``$BLACKLAKE_SERVE_TOKEN``, or a generated one — in that order of precedence.

``--token`` puts the secret in the process list (``ps``, ``/proc/<pid>/cmdline``) where every
local user can read it; a file or the environment does not. A token file is refused when
other users may read or write it (that would hand them the token, or let them replace it),
and a warning is printed when its group may.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import click

from blacklake_ml.config import ENV_SERVE_TOKEN, serve_token_from_env
from blacklake_ml.errors import InvalidInput

#: longest first line read from a token file (a longer one is not a token: the wrong file)
MAX_TOKEN_CHARS = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

OPTION, FILE, ENV, GENERATED = "option", "file", "env", "generated"


@dataclass(frozen=True)
class ServeToken:
    """The token a server uses and where it came from (one of the constants above)."""

    value: str
    source: str

    @property
    def echoed(self) -> bool:
        """Whether printing the token reveals nothing new: it was generated here (the user
        must be told it) or given on the command line (visible in ``ps`` anyway)."""
        return self.source in (GENERATED, OPTION)

    def placeholder(self) -> str:
        """What to print instead of a token that is not echoed."""
        return {OPTION: "<your --token>", FILE: "<token from --token-file>",
                ENV: f"<token from ${ENV_SERVE_TOKEN}>"}.get(self.source, "<token>")


def warn(text: str) -> None:
    """A warning on stderr, whatever ``--json``/``--quiet`` say (security: never hidden)."""
    click.echo(f"blacklake: warning: {text}", err=True)


def read_token_file(path: Path) -> str:
    """The token in ``path``: its first line, stripped. Refuses an empty or over-long first
    line, control characters, and a file other users may read or write."""
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise InvalidInput(f"token file {path} is a directory")
            if os.name == "posix":
                _check_permissions(path, info.st_mode)
            raw = f.readline(MAX_TOKEN_CHARS + 1)
    except IsADirectoryError:
        raise InvalidInput(f"token file {path} is a directory") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read token file {path}: {exc.strerror or exc}") from None
    if len(raw.rstrip(b"\r\n")) > MAX_TOKEN_CHARS:
        raise InvalidInput(f"token file {path}: first line over {MAX_TOKEN_CHARS} characters "
                           "(is it the right file?)")
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InvalidInput(f"token file {path} is not UTF-8 text") from None
    if not token:
        raise InvalidInput(f"token file {path} is empty (the token is its first line)")
    if _CONTROL.search(token):
        raise InvalidInput(f"token file {path}: the token holds control characters")
    return token


def _check_permissions(path: Path, mode: int) -> None:
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise InvalidInput(f"token file {path} is accessible to every user (mode "
                           f"{stat.S_IMODE(mode):04o}): run chmod 600 {path}")
    if mode & (stat.S_IRGRP | stat.S_IWGRP):
        warn(f"token file {path} is accessible to its group (mode {stat.S_IMODE(mode):04o}); "
             f"chmod 600 keeps it yours alone")


def resolve_token(token: str | None, token_file: Path | None, generate: str) -> ServeToken:
    """The token by precedence: ``--token`` > ``--token-file`` > ``$BLACKLAKE_SERVE_TOKEN`` >
    ``generate`` (a fresh random token). A lower source is not read when a higher one is
    given (``--token`` with ``--token-file`` warns that the file is ignored)."""
    if token is not None:
        if not token.strip():
            raise InvalidInput("--token is empty")
        if token_file is not None:
            warn("--token given: --token-file is ignored")
        warn(f"--token is visible to every local user in the process list; prefer "
             f"--token-file or ${ENV_SERVE_TOKEN}")
        return ServeToken(token, OPTION)
    if token_file is not None:
        return ServeToken(read_token_file(token_file), FILE)
    env = serve_token_from_env()
    if env is not None:
        if _CONTROL.search(env):
            raise InvalidInput(f"${ENV_SERVE_TOKEN} holds control characters")
        return ServeToken(env, ENV)
    return ServeToken(generate, GENERATED)


def token_options(fn: click.decorators.FC) -> click.decorators.FC:
    """``--token`` and ``--token-file`` for a serving command."""
    fn = click.option(
        "--token-file", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
        help=f"Read the token from the first line of PATH (refused if other users can read "
             f"it). Precedence: --token > --token-file > ${ENV_SERVE_TOKEN} > generated.")(fn)
    return click.option(
        "--token", metavar="T",
        help=f"Token clients must present. Visible in the process list: prefer --token-file "
             f"or ${ENV_SERVE_TOKEN}. Generated and printed when none is given.")(fn)


__all__ = ["ENV", "FILE", "GENERATED", "OPTION", "ServeToken", "read_token_file",
           "resolve_token", "token_options", "warn"]
