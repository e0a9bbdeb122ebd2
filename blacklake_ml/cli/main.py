"""The ``blacklake`` command group: global options, error reporting and the entry point.

:class:`BlacklakeGroup` turns every failure into a :class:`CliFailure`, so the rules hold for
every command: a :class:`~blacklake_ml.errors.BlacklakeError` or usage error prints exactly one
line ``blacklake: error: ...`` on stderr and exits with the error's ``exit_code``; Ctrl-C exits
130; anything unexpected prints one line (a traceback only with ``BLACKLAKE_DEBUG=1``). Error
lines and tracebacks pass through :func:`~blacklake_ml.core.redact.redact`: a catalog or
storage URL in a message must not print its password.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Sequence
from typing import IO, Any

import click

from blacklake_ml import __version__
from blacklake_ml.cli import (
    admin_cmds,
    data_cmds,
    dvc_cmds,
    history_cmds,
    lab_cmds,
    lifecycle_cmds,
    lineage_cmds,
    merge_cmds,
    mlflow_cmds,
    ref_cmds,
    repo_cmds,
    scan_cmds,
    search_cmds,
    serve_cmds,
    wandb_cmds,
)
from blacklake_ml.cli.output import print_json, printable
from blacklake_ml.cli.state import CliState
from blacklake_ml.core.redact import redact
from blacklake_ml.errors import BlacklakeError, ConflictError, MergeConflict

PROG = "blacklake"
#: click >= 8.2 signals "no arguments, show help" with a UsageError subclass; keep its help.
_NO_ARGS_HELP: tuple[type[BaseException], ...] = tuple(
    c for c in (getattr(click.exceptions, "NoArgsIsHelpError", None),) if c is not None)


class CliFailure(click.ClickException):
    """A failure reported as one line on stderr (plus ``details`` lines, e.g. conflicts)."""

    def __init__(self, message: str, exit_code: int, *, label: str = "error: ",
                 details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # a ClassVar in click >= 8.5
        self.label = label
        self.details = list(details)

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the error line (credentials masked), then any detail lines, on stderr."""
        click.echo(f"{PROG}: {self.label}{printable(redact(self.message))}", file=file,
                   err=True)
        for line in self.details:  # conflicting repository paths: scripts need them verbatim
            click.echo(printable(line), file=file, err=True)


def _debug() -> bool:
    from blacklake_ml.config import debug_enabled

    return debug_enabled()


def _usage_failure(exc: click.UsageError) -> CliFailure:
    hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    return CliFailure(exc.format_message().rstrip(".") + hint, exc.exit_code)


def _failure_for(exc: BaseException) -> CliFailure:
    """Map an exception escaping a command to the one-line report."""
    if isinstance(exc, KeyboardInterrupt):
        return CliFailure("cancelled; nothing was committed", 130, label="")
    if _debug():
        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    if isinstance(exc, BlacklakeError):
        message = str(exc) or type(exc).__name__
        details: list[str] = []
        if isinstance(exc, ConflictError) and exc.paths:
            if isinstance(exc, MergeConflict):
                message = f"merge conflict: {message}"
            # Conflicting paths: the one part of an error scripts need in full.
            details = list(exc.paths)
            ctx = click.get_current_context(silent=True)
            state = ctx.find_object(CliState) if ctx is not None else None
            if state is not None and state.json:
                print_json({"conflicts": list(exc.paths)})
        return CliFailure(message, exc.exit_code, details=details)
    if isinstance(exc, OSError) and exc.strerror:
        # Local filesystem trouble (permissions, a file where a directory should be, ...).
        where = f": {exc.filename}" if exc.filename else ""
        return CliFailure(f"{exc.strerror}{where}", 1)
    hint = "" if _debug() else " (set BLACKLAKE_DEBUG=1 for a traceback)"
    return CliFailure(f"unexpected {type(exc).__name__}: {exc}{hint}", 1)


class BlacklakeGroup(click.Group):
    """A click group that turns every failure into the one-line report."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse global options; usage errors become one line."""
        try:
            return super().parse_args(ctx, args)
        except _NO_ARGS_HELP:
            raise
        except click.UsageError as exc:
            raise _usage_failure(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; report its failure as one line with the right exit code."""
        try:
            return super().invoke(ctx)
        except _NO_ARGS_HELP:
            raise
        except click.UsageError as exc:
            raise _usage_failure(exc) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # `blacklake log | head`: click exits quietly
                raise
            raise _failure_for(exc) from None
        # Deliberately blind: nothing may reach the user as a traceback (BLACKLAKE_DEBUG
        # prints one); _failure_for still tells expected errors from unexpected ones.
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001
            raise _failure_for(exc) from None


@click.group(cls=BlacklakeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=str), metavar="PATH",
              help="Store home directory (overrides BLACKLAKE_HOME; default ~/.blacklake).")
@click.option("--storage", metavar="URL",
              help="Object storage URL, e.g. s3://bucket/prefix (overrides BLACKLAKE_STORAGE).")
@click.option("--catalog", metavar="URL",
              help="Catalog database SQLAlchemy URL (overrides BLACKLAKE_CATALOG).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or informational notes.")
@click.version_option(__version__, prog_name=PROG)
@click.pass_context
def cli(ctx: click.Context, home: str | None, storage: str | None, catalog: str | None,
        quiet: bool) -> None:
    """BlackLake ML: git-style, deduplicated versioning of ML models and datasets.

    Everything stored is addressed as blacklake://REPO/REF/PATH, where REF is a branch, a
    tag or a commit id (or a unique prefix of at least 8 hex characters).
    """
    state = ctx.ensure_object(CliState)
    state.home, state.storage, state.catalog, state.quiet = home, storage, catalog, quiet
    ctx.call_on_close(state.close)


for _module in (admin_cmds, repo_cmds, data_cmds, history_cmds, ref_cmds, merge_cmds,
                search_cmds, scan_cmds, lifecycle_cmds, lab_cmds, lineage_cmds, mlflow_cmds, dvc_cmds,
                serve_cmds, wandb_cmds):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``blacklake``); exits the process."""
    # numpy's bundled OpenBLAS starts and spins a thread per core when numpy is imported (the
    # MinHash sketch of a big file, a search): the CLI does no matrix work worth it, and those
    # threads took CPU from the put pipeline (1.6% of a 1 GiB put's samples).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    cli.main(args=list(argv) if argv is not None else None, prog_name=PROG)


if __name__ == "__main__":
    main()
