"""Decision ids: 32 hex digits, never repeated — across threads and in a forked child."""

from __future__ import annotations

import os
import threading

from dealerpolicy.engine.evaluate import new_decision_id


def test_ids_are_unique_hex_across_threads():
    seen: list[str] = []

    def take() -> None:
        seen.extend(new_decision_id() for _ in range(3000))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 12000 == len(set(seen))
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in seen)


def test_a_forked_child_never_repeats_the_parents_ids():
    new_decision_id()  # the parent has a buffer of ids it has not handed out yet
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read)
        os.write(write, "".join(new_decision_id() for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        child = f.read()
    os.waitpid(pid, 0)
    parent = "".join(new_decision_id() for _ in range(10))
    assert len(child) == len(parent) == 320 and child != parent
    assert not {child[i:i + 32] for i in range(0, 320, 32)} & {parent[i:i + 32] for i in range(0, 320, 32)}
