"""The rulebook in use: loaded per process, reloaded by build-then-swap, shared across workers.

A reload builds a complete new `Decider` first (RulesError lists every problem and the
old one keeps serving); then one assignment makes it current. Requests hold a lease on
the `Loaded` they started with, so none sees a mix; a retired Decider is closed when
its last lease ends (its C rulesets are freed then, nothing leaks).

Several uvicorn workers: the worker that reloads writes the rule files it validated to
`<state>/snapshots/<version>/` and then replaces `<state>/generation.json`. Every
worker stats that file before each request (one `os.stat`), and when it changed
loads the snapshot before serving, so after a reload has answered, no worker decides
with the old rules. Reloads are serialised across workers by `flock` on
`<state>/reload.lock`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import mmap
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dealerpolicy.api import Decider
from dealerpolicy.errors import DealerPolicyError, RulesError
from dealerpolicy.rulebook.load import policy_files
from dealerpolicy.rulebook.plan import content_hash
from dealerpolicy.service.models import ReloadAnswer
from dealerpolicy.source import read_source

log = logging.getLogger("dealerpolicy.service")
GENERATION_FILE = "generation.json"
COUNTER_FILE = "generation.counter"


@dataclass(eq=False)
class Loaded:
    """One Decider and its bookkeeping: generation, when loaded, how many requests use it."""

    decider: Decider
    generation: int
    loaded_at: str
    users: int = 0
    retired: bool = False
    closed: bool = False

    @property
    def version(self) -> str:
        return self.decider.rulebook.version


def folder_version(rules_dir: Path) -> str | None:
    """The rules version the folder would have (same hash as the loader), or None if unreadable."""
    try:  # read as the loader reads them
        files = {"schema.yaml": read_source(rules_dir / "schema.yaml")}
        for path in policy_files(rules_dir):
            files[path.relative_to(rules_dir).as_posix()] = read_source(path)
    except RulesError:  # unreadable, or not UTF-8
        return None
    return content_hash(files)


class RulesRuntime:
    """The current Loaded rulebook of this process, with leases, reload and cross-worker sync."""

    def __init__(self, rules_dir: str | Path, state_dir: Path | None = None,
                 on_reload: Callable[[str], None] | None = None):
        self.rules_dir = Path(rules_dir)
        self.state_dir = state_dir
        self._on_reload = on_reload or (lambda result: None)
        self._lock = threading.Lock()          # leases and the current reference
        self._reload_lock = threading.Lock()   # one reload or sync at a time in this process
        self._seen: tuple[int, int] | None = None
        self._counter = GenerationCounter(self.state_dir / COUNTER_FILE) if self.state_dir else None
        self.current = self._initial()

    # --- using ---------------------------------------------------------------------

    @contextmanager
    def lease(self) -> Iterator[Loaded]:
        """The current rulebook, kept alive (not closed) until the block ends."""
        self.sync()
        with self._lock:
            loaded = self.current
            loaded.users += 1
        try:
            yield loaded
        finally:
            with self._lock:
                loaded.users -= 1
                close = loaded.retired and loaded.users == 0 and not loaded.closed
                loaded.closed = loaded.closed or close
            if close:
                loaded.decider.close()

    # --- reloading -----------------------------------------------------------------

    def reload(self) -> ReloadAnswer:
        """Validate the rules folder completely, then swap; raises RulesError and keeps the old one."""
        started = time.perf_counter()
        with self._reload_lock, self._across_workers():
            self._sync_locked()
            previous = self.current
            if folder_version(self.rules_dir) == previous.version:
                return self._result(False, previous, previous, started)
            try:
                decider = Decider.from_dir(self.rules_dir)
            except RulesError:
                self._on_reload("invalid")
                raise
            generation = max(previous.generation, self._read_generation().get("generation", 0)) + 1
            snapshot = self._write_snapshot(decider)
            loaded = Loaded(decider, generation, _now())
            self._swap(loaded)
            self._publish(generation, loaded.version, snapshot)
        self._on_reload("ok")
        log.info("rules reloaded: version %s (generation %d, pid %d)", loaded.version[:12],
                 generation, os.getpid())
        return self._result(True, loaded, previous, started)

    def sync(self) -> None:
        """Adopt a newer generation published by another worker (a memory read when nothing changed)."""
        if self._counter is None or self._counter.latest() <= self.current.generation:
            return
        with self._reload_lock:
            self._sync_locked()

    def close(self) -> None:
        with self._lock:
            self.current.retired = True
            close = self.current.users == 0 and not self.current.closed
            self.current.closed = self.current.closed or close
        if close:
            self.current.decider.close()

    # --- plumbing ------------------------------------------------------------------

    def _initial(self) -> Loaded:
        published = self._read_generation()
        if published:
            self._seen = self._stamp()
            decider = Decider.from_dir(published["snapshot"])
            return Loaded(decider, int(published["generation"]), _now())
        return Loaded(Decider.from_dir(self.rules_dir), 0, _now())

    def _sync_locked(self) -> None:
        if self.state_dir is None:
            return
        stamp = self._stamp()
        if stamp == self._seen:
            return
        published = self._read_generation()
        if not published or int(published["generation"]) <= self.current.generation:
            self._seen = stamp
            return
        try:
            decider = Decider.from_dir(published["snapshot"])
        except DealerPolicyError as exc:  # validated by the publisher; a failure here is a bug
            log.error("cannot adopt rules generation %s: %s", published["generation"], exc)
            self._seen = stamp
            return
        self._swap(Loaded(decider, int(published["generation"]), _now()))
        # Only now: until the swap, other threads must wait on the lock rather than go on with the old.
        self._seen = stamp
        log.info("rules version %s adopted from worker %s (generation %s, pid %d)",
                 decider.rulebook.version[:12], published.get("by_pid"), published["generation"],
                 os.getpid())

    def _swap(self, loaded: Loaded) -> None:
        with self._lock:
            old, self.current = self.current, loaded
            old.retired = True
            close = old.users == 0 and not old.closed
            old.closed = old.closed or close
        if close:
            old.decider.close()

    def _result(self, changed: bool, now: Loaded, before: Loaded, started: float) -> ReloadAnswer:
        return ReloadAnswer(changed=changed, rules_version=now.version, previous_version=before.version,
                            generation=now.generation, worker_pid=os.getpid(),
                            elapsed_ms=round((time.perf_counter() - started) * 1000, 1))

    def _across_workers(self) -> Any:
        if self.state_dir is None:
            return nullcontext()
        return _flock(self.state_dir / "reload.lock")

    def _stamp(self) -> tuple[int, int] | None:
        assert self.state_dir is not None
        try:
            st = os.stat(self.state_dir / GENERATION_FILE)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def _read_generation(self) -> dict[str, Any]:
        if self.state_dir is None:
            return {}
        try:
            return dict(json.loads((self.state_dir / GENERATION_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def _write_snapshot(self, decider: Decider) -> str | None:
        if self.state_dir is None:
            return None
        book = decider.rulebook
        folder = self.state_dir / "snapshots" / book.version[:24]
        for rel, text in book.files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return str(folder)

    def _publish(self, generation: int, version: str, snapshot: str | None) -> None:
        if self.state_dir is None:
            return
        path = self.state_dir / GENERATION_FILE
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"generation": generation, "version": version, "snapshot": snapshot,
                                   "by_pid": os.getpid(), "at": _now()}), encoding="utf-8")
        os.replace(tmp, path)
        self._seen = self._stamp()
        if self._counter is not None:
            self._counter.publish(generation)


class GenerationCounter:
    """The newest published generation, in an 8-byte file every worker maps into memory.

    Each request asks whether another worker has published new rules; reading shared memory
    answers that without a system call (a `stat` of the generation file per request cost more
    than deciding). The generation file stays the record of what was published.
    """

    def __init__(self, path: Path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < 8:
                os.ftruncate(fd, 8)  # zeros: generation 0; two workers doing this at once is harmless
            self._map = mmap.mmap(fd, 8)
        finally:
            os.close(fd)

    def latest(self) -> int:
        return int.from_bytes(self._map[:8], "little")

    def publish(self, generation: int) -> None:
        self._map[:8] = max(generation, self.latest()).to_bytes(8, "little")


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class RulesWatcher:
    """Reload when files under the rules folder change (server.watch_rules); one worker watches."""

    def __init__(self, runtime: RulesRuntime, interval: float = 1.0):
        self.runtime = runtime
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rules-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        state = self.runtime.state_dir
        with open(state / "watch.lock", "a+") if state else nullcontext() as fh:
            while fh is not None and not self._stop.is_set():
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    self._stop.wait(self.interval)
            seen = _signature(self.runtime.rules_dir)
            while not self._stop.wait(self.interval):
                now = _signature(self.runtime.rules_dir)
                if now == seen:
                    continue
                seen = now
                try:
                    self.runtime.reload()
                except RulesError as exc:
                    log.error("rules changed but do not validate; still serving %s:\n%s",
                              self.runtime.current.version[:12], exc.render())


def _signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    out = []
    for path in sorted(root.rglob("*")):
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)
