"""One billdrop per workspace: a second changing command is refused while `run` holds the lock."""
from __future__ import annotations

import shutil

import pytest

from daemon.cli import main
from daemon.lock import LOCK_NAME
from tests.workspaces import files_in, make_workspace, start_daemon, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def running(tmp_path):
    """A workspace with `billdrop run` holding its lock."""
    ws = make_workspace(tmp_path / "ws")
    log_path = tmp_path / "daemon.log"
    proc = start_daemon(ws, log_path)
    wait_for(lambda: "service.started" in log_path.read_text(encoding="utf-8"), what="the daemon started")
    yield ws, proc
    proc.terminate()
    proc.wait(timeout=30)


def test_second_run_is_refused(running, capsys):
    """A second `run` exits 2 naming the PID of the one that holds the workspace."""
    ws, proc = running
    assert main(["run", "-w", str(ws.root)]) == 2
    assert f"рабочая папка {ws.root} занята процессом PID {proc.pid}" in capsys.readouterr().err
    assert (ws.root / LOCK_NAME).read_text().strip() == str(proc.pid)


def test_process_during_run_changes_nothing(running, shared_samples):
    """`process` during `run` exits 2 and touches no file: the daemon's lock and files stay as they were."""
    ws, proc = running
    proc.send_signal(19)  # SIGSTOP: the daemon holds its lock but takes nothing from the inbox
    try:
        shutil.copy(shared_samples / "charges" / "isp_charges_2026-11.csv", ws.inbox("charges"))
        before = [(p, p.stat().st_mtime_ns) for p in files_in(ws.root)]
        assert main(["process", "-w", str(ws.root)]) == 2
        assert [(p, p.stat().st_mtime_ns) for p in files_in(ws.root)] == before
    finally:
        proc.send_signal(18)  # SIGCONT


def test_status_works_beside_run(running, capsys):
    """`status` reads the workspace while `run` holds it."""
    ws, _ = running
    assert main(["status", "-w", str(ws.root)]) == 0
    assert "billdrop status" in capsys.readouterr().out
