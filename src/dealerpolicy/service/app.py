"""The FastAPI application: one `Service` per worker process, built in the lifespan.

`create_app(settings)` is for tests and embedding; `app_from_env()` is the factory
uvicorn workers call (settings and the shared state folder come from the environment,
set by `dealerpolicy serve`). The engine is built inside each worker after it started,
never inherited across a fork (durable_rules is not fork-safe once threads run).
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from dealerpolicy.config import Settings
from dealerpolicy.service import problems
from dealerpolicy.service.auth import TokenTable
from dealerpolicy.service.balance import ConnectionBalance
from dealerpolicy.service.core import Service
from dealerpolicy.service.fastpath import DecisionFastPath
from dealerpolicy.service.limits import BodyLimit, CountAnswers
from dealerpolicy.service.reload import RulesWatcher
from dealerpolicy.service.routes import document_bodies, router

ENV_SETTINGS = "DEALERPOLICY_SERVICE_SETTINGS"
ENV_STATE = "DEALERPOLICY_SERVICE_STATE"
log = logging.getLogger("dealerpolicy.service")


def create_app(settings: Settings, state_dir: str | Path | None = None) -> FastAPI:
    """The HTTP API over `settings` (rules folder, database, tokens, limits)."""
    state = Path(state_dir) if state_dir else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = Service(settings, state)
        app.state.service = svc
        # The rulebook, the compiled engine and the imported modules live as long as the worker:
        # move them out of the cyclic collector's sight, so its passes during requests stay short.
        gc.collect()
        gc.freeze()
        stop = threading.Event()
        dumper = threading.Thread(target=_dump_metrics, args=(svc, stop), daemon=True,
                                  name="metrics-dump")
        dumper.start()
        watcher = RulesWatcher(svc.rules) if settings.server.watch_rules else None
        log.info("worker %d serving rules %s", os.getpid(), svc.rules.current.version[:12])
        try:
            yield
        finally:
            stop.set()
            if watcher:
                watcher.stop()
            dumper.join(timeout=5)
            svc.close()

    app = FastAPI(title="dealerpolicy", version="1", lifespan=lifespan,
                  description="Dealer policy decisions, explained and audited. "
                              "Send `Authorization: Bearer <token>`; roles: check, audit, admin.")
    app.state.tokens = TokenTable(settings.server.tokens)
    app.state.balance = ConnectionBalance.from_env(state)
    problems.install(app)
    app.include_router(router)
    document_bodies(app)
    app.add_middleware(DecisionFastPath)  # innermost: the body limit and the answer count still apply
    app.add_middleware(BodyLimit, max_bytes=settings.server.max_body_bytes)
    app.add_middleware(CountAnswers)
    return app


def _dump_metrics(svc: Service, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        try:
            svc.metrics.dump()
        except OSError as exc:  # the state folder went away: metrics stay per worker
            log.warning("cannot write metrics snapshot: %s", exc)


def app_from_env() -> FastAPI:
    """The app for a uvicorn worker started by `dealerpolicy serve`."""
    settings = Settings.model_validate_json(os.environ[ENV_SETTINGS])
    return create_app(settings, os.environ.get(ENV_STATE) or None)


def environment(settings: Settings, state_dir: str) -> dict[str, Any]:
    """The environment entries `app_from_env` reads."""
    return {ENV_SETTINGS: settings.model_dump_json(), ENV_STATE: state_dir}
