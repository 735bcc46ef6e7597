"""A daemon killed by SIGKILL leaves no process behind: its forkserver and PDF workers die with it."""
from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from tests.workspaces import files_in, make_workspace, start_daemon, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc"),
]


def _processes() -> dict[int, tuple[int, str]]:
    """Every live process: pid → (parent pid, start time in clock ticks); zombies hold nothing and count
    as gone."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while listed
            continue
        if fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def _descendants(pid: int) -> dict[int, tuple[int, str]]:
    table = _processes()
    found: dict[int, tuple[int, str]] = {}
    parents = {pid}
    while parents:
        children = {p: info for p, info in table.items() if info[0] in parents and p not in found}
        found.update(children)
        parents = set(children)
    return found


def _alive(family: dict[int, tuple[int, str]]) -> list[int]:
    """Those of `family` still running (the same pid and start time: not a reused pid)."""
    table = _processes()
    return [pid for pid, (_, start) in family.items() if pid in table and table[pid][1] == start]


def _with_workers(pid: int) -> dict[int, tuple[int, str]] | None:
    """The daemon's descendants once its PDF workers, the forkserver's children, are among them."""
    family = _descendants(pid)
    return family if any(ppid != pid for ppid, _ in family.values()) else None


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: PDFs render in-process, no workers")
def test_sigkill_leaves_no_worker(tmp_path, shared_samples):
    """`billdrop run` renders PDFs through its worker pool; after SIGKILL nothing it started lives on."""
    ws = make_workspace(tmp_path / "ws")
    proc = start_daemon(ws, tmp_path / "daemon.log")
    family: dict[int, tuple[int, str]] = {}
    try:
        shutil.copy(shared_samples / "charges" / "isp_charges_2026-11.csv", ws.inbox("charges"))
        wait_for(lambda: files_in(ws.root / "documents", "*.pdf"), what="PDFs rendered")
        family = wait_for(lambda: _with_workers(proc.pid), what="the daemon's PDF workers")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        wait_for(lambda: not _alive(family), timeout=30, what=f"no process left of {sorted(family)}")
    finally:
        proc.kill()
        proc.wait(timeout=30)
        for pid in _alive(family):  # a failed run must not leave them to the next tests
            os.kill(pid, signal.SIGKILL)
