"""`dealerpolicy serve`: run the HTTP API with uvicorn (one engine per worker process)."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile

import click

from dealerpolicy.cli.render import report_error
from dealerpolicy.errors import DealerPolicyError


@click.command()
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="config.yaml (rules_dir, database_url, server: host, port, workers, tokens…).")
@click.option("--host", help="Listen address (default: server.host).")
@click.option("--port", type=int, help="Port (default: server.port).")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default: server.workers).")
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False), help="Rules folder (default: rules_dir).")
@click.option("--db", "db_url", help="Database URL (default: database_url, or $DEALERPOLICY_DATABASE_URL).")
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="Log every request.")
def serve(config_path: str | None, host: str | None, port: int | None, workers: int | None,
          rules_dir: str | None, db_url: str | None, access_log: bool) -> None:
    """Run the HTTP API: decisions, the audit log, rules reload, dealers, health and metrics.

    The rules are validated before the server starts (exit 3 with every problem). Tokens and
    their roles (check, audit, admin) come from the config's server.tokens.

    Example: dealerpolicy serve --config config.yaml --workers 2
    """
    import uvicorn

    from dealerpolicy.api import load_rulebook
    from dealerpolicy.config import load_settings
    from dealerpolicy.service import workers as workers_mod
    from dealerpolicy.service.app import environment

    try:
        settings = load_settings(config_path, database_url=db_url)
        if rules_dir:
            settings.rules_dir = rules_dir
        load_rulebook(settings.rules_dir)
    except DealerPolicyError as exc:
        report_error(exc)
        sys.exit(exc.exit_code)
    server = settings.server
    server.host, server.port, server.workers = host or server.host, port or server.port, workers or server.workers
    if not server.tokens:
        click.echo("warning: no server.tokens in the config: every /v1 request will get 401", err=True)
    state_dir = tempfile.mkdtemp(prefix="dealerpolicy-serve-")
    os.environ.update(environment(settings, state_dir))
    options = {"access_log": access_log, "log_level": "info", "timeout_graceful_shutdown": 10}
    try:
        if server.workers > 1 and workers_mod.reuse_port_supported():
            logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
            try:
                workers_mod.run(server.host, server.port, server.workers, options)
            except OSError as exc:
                click.echo(f"error: cannot listen on {server.host}:{server.port}: {exc}", err=True)
                sys.exit(1)
        else:
            uvicorn.run(workers_mod.APP, factory=True, host=server.host, port=server.port,
                        workers=server.workers, **options)
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
