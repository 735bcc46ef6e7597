"""The database is precious: a deleted or replaced state.sqlite stops the daemon (exit 3), a workspace
that issued documents never starts on a new one unasked, and backups are real, restorable SQLite copies."""
from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import date

import pytest

from daemon.backup import daily_backup, daily_path
from daemon.cli import EXIT_STORE_LOST, main
from daemon.config import BackupSettings
from daemon.store import Store, StoreLostError
from tests.workspaces import files_in, make_workspace, start_daemon, wait_for

SAMPLE = ("charges", "isp_charges_2026-11.csv")


def _documents(path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT kind, number FROM documents ORDER BY kind, number").fetchall()
    finally:
        conn.close()


@pytest.mark.slow
def test_database_deleted_under_the_daemon(tmp_path, shared_samples, capsys):
    """`billdrop backup` copies the live database beside the daemon; deleting state.sqlite stops the daemon
    with exit 3; the restart refuses and names the backup; restored from it, the ledger is the old one."""
    ws = make_workspace(tmp_path / "ws")
    log_path = tmp_path / "daemon.log"
    proc = start_daemon(ws, log_path)
    try:
        shutil.copy(shared_samples.joinpath(*SAMPLE), ws.inbox("charges"))
        wait_for(lambda: files_in(ws.root / "archive"), what="the file processed")
        copy = tmp_path / "копия.sqlite"
        assert main(["backup", "-w", str(ws.root), "--to", str(copy)]) == 0
        issued = _documents(copy)
        assert issued and issued == _documents(ws.state_path)
        assert daily_path(ws, date.today()).is_file()  # the daemon's copy of the day, made at start

        ws.state_path.unlink()
        assert proc.wait(timeout=60) == EXIT_STORE_LOST
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert "удалена или подменена во время работы" in log_path.read_text(encoding="utf-8")

    capsys.readouterr()
    assert main(["run", "-w", str(ws.root)]) == EXIT_STORE_LOST
    err = capsys.readouterr().err
    assert "нет базы state.sqlite, а документы уже выпускались" in err
    assert f"cp backups/state-{date.today():%Y-%m-%d}.sqlite state.sqlite" in err
    assert not ws.state_path.exists()  # refusing created no empty database

    shutil.copy(copy, ws.state_path)
    shutil.copy(shared_samples.joinpath(*SAMPLE), ws.inbox("charges"))
    pdfs = files_in(ws.root / "documents")
    assert main(["process", "-w", str(ws.root)]) == 0
    assert _documents(ws.state_path) == issued  # a duplicate: nothing numbered again
    assert files_in(ws.root / "documents") == pdfs


def test_replaced_database_refuses_transactions(tmp_path):
    """Another file put in place of the open one (a restore while running) is refused, not written to."""
    path = tmp_path / "state.sqlite"
    store = Store(path)
    try:
        other = tmp_path / "other.sqlite"
        Store(other).close()
        os.replace(other, path)
        with pytest.raises(StoreLostError, match="удалена или подменена"), store.transaction():
            pass
        with pytest.raises(StoreLostError):
            store.verify()
    finally:
        store.close()


@pytest.mark.parametrize(
    "issued", ["archive/2026-11/charges/a.csv", "documents/6672002971/2026-11/Счет_1.pdf", "outbox/1c/m.xml"]
)
def test_lost_database_refuses_start_until_new_start_is_asked(tmp_path, capsys, issued):
    """A workspace with issued files and no state.sqlite: `process` and `status` exit 3 and create
    nothing; `billdrop init --new-database` is the explicit new start."""
    ws = make_workspace(tmp_path / "ws")
    (ws.root / issued).parent.mkdir(parents=True, exist_ok=True)
    (ws.root / issued).write_bytes(b"issued")
    for command in ("process", "status"):
        assert main([command, "-w", str(ws.root)]) == EXIT_STORE_LOST
        assert "billdrop init" in capsys.readouterr().err and not ws.state_path.exists()
    assert main(["init", str(ws.root), "--new-database"]) == 0
    assert main(["process", "-w", str(ws.root)]) == 0


def test_daily_backup_once_a_day_keeps_the_newest(tmp_path):
    """Today's copy is made once, holds the data, is one file (no -wal); copies beyond keep_days go, the
    oldest first, and other files in backups/ stay."""
    ws = make_workspace(tmp_path / "ws")
    store = Store(ws.state_path)
    try:
        with store.transaction() as conn:
            conn.execute("INSERT INTO sequences VALUES ('invoice', '2611', 42)")
        backups = ws.root / "backups"
        backups.mkdir()
        for day in ("2026-11-28", "2026-11-29", "2026-11-30"):
            (backups / f"state-{day}.sqlite").write_bytes(b"old")
        (backups / "before-upgrade.sqlite").write_bytes(b"mine")
        today = date(2026, 12, 2)

        made = daily_backup(store, ws, today, BackupSettings(keep_days=3))
        assert made == daily_path(ws, today)
        assert daily_backup(store, ws, today, BackupSettings(keep_days=3)) is None
    finally:
        store.close()
    assert sorted(p.name for p in backups.iterdir()) == [
        "before-upgrade.sqlite", "state-2026-11-29.sqlite", "state-2026-11-30.sqlite",
        "state-2026-12-02.sqlite",
    ]
    copy = sqlite3.connect(made)
    try:
        assert copy.execute("SELECT last FROM sequences").fetchall() == [(42,)]
    finally:
        copy.close()


def test_backup_without_database(tmp_path, capsys):
    """Nothing to copy: exit 3 and a message, no empty copy."""
    ws = make_workspace(tmp_path / "ws")
    assert main(["backup", "-w", str(ws.root)]) == EXIT_STORE_LOST
    assert "копировать нечего" in capsys.readouterr().err
    assert not (ws.root / "backups").exists()
