"""Several uvicorn workers, each with its own listening socket on the same port (SO_REUSEPORT).

uvicorn's own multi-worker mode shares one listening socket, and a worker's event loop
accepts every connection that is waiting when it wakes: clients that open their keep-alive
connections together (an ERP's connection pool, a load test) were measured landing 13 to 3
on two workers, which halves the capacity for the whole life of those connections. With
SO_REUSEPORT the kernel spreads incoming connections over the workers' sockets.

The supervisor starts the workers, restarts one that dies, and on SIGINT/SIGTERM asks each
to shut down gracefully (uvicorn finishes the requests in flight) before it exits. Each worker
knows its slot number, so the workers can keep their connection shares even
(`service/balance.py`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from typing import Any

log = logging.getLogger("dealerpolicy.service")
APP = "dealerpolicy.service.app:app_from_env"


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound with SO_REUSEPORT (and listening), as uvicorn would bind it otherwise."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def check_port(host: str, port: int) -> None:
    """Fail before any worker starts when something listens on the port already.

    The probe binds *without* SO_REUSEPORT, so it also fails against another dealerpolicy
    server (whose workers would otherwise share the port with ours, silently).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _exit_with_parent(parent: int) -> None:
    """A worker whose supervisor is gone (killed) shuts itself down instead of serving on alone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def _worker(host: str, port: int, options: dict[str, Any], slot: int, workers: int) -> None:
    import uvicorn

    from dealerpolicy.service.balance import ENV_SLOT, ENV_WORKERS

    os.environ[ENV_SLOT], os.environ[ENV_WORKERS] = str(slot), str(workers)  # for ConnectionBalance
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True, name="parent-watch").start()
    sock = listening_socket(host, port)
    server = uvicorn.Server(uvicorn.Config(APP, factory=True, host=host, port=port, **options))
    server.run(sockets=[sock])


def run(host: str, port: int, workers: int, options: dict[str, Any]) -> None:
    """Run `workers` worker processes until SIGINT/SIGTERM; restart any that dies meanwhile."""
    check_port(host, port)
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start(slot: int) -> multiprocessing.process.BaseProcess:
        proc = context.Process(target=_worker, args=(host, port, options, slot, workers), daemon=False)
        proc.start()
        return proc

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    procs = [start(slot) for slot in range(workers)]
    log.info("started %d workers on %s:%d (SO_REUSEPORT)", workers, host, port)
    try:
        while not stopping:
            time.sleep(0.2)
            for i, proc in enumerate(procs):
                if not proc.is_alive() and not stopping:
                    log.warning("worker %s exited with %s; starting another", proc.pid, proc.exitcode)
                    procs[i] = start(i)
    finally:
        for proc in procs:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in procs:
            proc.join(timeout=max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
