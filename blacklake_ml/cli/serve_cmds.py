"""``blacklake serve``: the store's files over plain HTTP (the gateway's files routes).

For tools that read by URL — W&B HTTP references (``blacklake wandb export --references``),
``curl``: ``GET``/``HEAD /files/REPO/REF/PATH`` with ``ETag``, ``Content-Length`` and ranges.
Every request needs the token (``Authorization: Bearer T`` or basic auth with T as password)
or a signed URL. The token: ``--token`` > ``--token-file`` > ``$BLACKLAKE_SERVE_TOKEN`` >
generated (:mod:`blacklake_ml.cli.tokens`); one read from a file or the environment is never
printed.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from blacklake_ml.cli.output import note
from blacklake_ml.cli.state import CliState, json_option, pass_state
from blacklake_ml.cli.tokens import resolve_token, token_options

DEFAULT_PORT = 8765


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface — mind who can reach it).")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT,
              show_default=True, help="Port (0: any free port).")
@token_options
@json_option
@pass_state
def serve(state: CliState, host: str, port: int, token: str | None,
          token_file: Path | None) -> None:
    """Serve stored files over HTTP at /files/REPO/REF/PATH until Ctrl-C.

    Prints the URL and the token (with --json: one line {"url", "token", "token_source",
    "files"} first); a token read from --token-file or $BLACKLAKE_SERVE_TOKEN is not printed
    ("token": null).
    """
    from blacklake_ml.gateway import Gateway
    from blacklake_ml.gateway.files import PREFIX, files_routes

    secret = resolve_token(token, token_file, Gateway.new_token())
    store = state.store()
    gateway = Gateway(files_routes(store), token=secret.value, host=host, port=port)
    shown = secret.value if secret.echoed else None
    doc = {"url": gateway.url, "token": shown, "token_source": secret.source,
           "files": f"{gateway.url}{PREFIX}/REPO/REF/PATH"}
    # SIGTERM stops cleanly from the moment the ready line is out (installed before it: a
    # script that reads the line and at once sends SIGTERM must not kill the process).
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if state.json:
            click.echo(json.dumps(doc))  # one line: a script reads it before the server blocks
        else:
            click.echo(f"serving {gateway.url}{PREFIX}/REPO/REF/PATH")
            click.echo(f"token: {shown if shown is not None else secret.placeholder()}")
        sys.stdout.flush()
        note(state, "clients: Authorization: Bearer <token> (or basic auth, the token as "
                    "password); Ctrl-C stops")
        gateway.serve_forever()
    except KeyboardInterrupt:
        pass  # the normal way to stop a server: not an error
    finally:
        signal.signal(signal.SIGTERM, previous)
        gateway.close()
    note(state, "stopped")


COMMANDS = [serve]
