"""One billdrop per workspace: an exclusive flock on <workspace>/.billdrop.lock, held for a command (shell).

The kernel drops the lock when the holder exits, however it ends (SIGKILL included), so a stale lock
file is harmless and is never deleted: removing it would let a second process lock a new file while
the first still holds the old one.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".billdrop.lock"


class WorkspaceBusy(Exception):  # noqa: N818 -- a state the operator is told about, not a failure
    """Another billdrop holds the workspace."""


@contextmanager
def workspace_lock(root: Path) -> Iterator[None]:
    """Hold the workspace's lock until the block ends, with our PID in the file; WorkspaceBusy if taken."""
    path = root / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "неизвестен"
            raise WorkspaceBusy(f"рабочая папка {root} занята процессом PID {holder} ({path})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
