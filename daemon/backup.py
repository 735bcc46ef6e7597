"""The database is precious: online copies of state.sqlite, and no start that would number anew (shell).

state.sqlite holds the numbering: a workspace that has issued documents but lost its database must not
start from number 1 again. The daemon keeps one copy a day in backups/; `billdrop backup` makes one on
demand beside a running daemon (SQLite's online backup reads a consistent snapshot).
"""
from __future__ import annotations

import os
import re
import sqlite3
from datetime import date
from pathlib import Path

import structlog

from daemon.config import BackupSettings
from daemon.store import Store, StoreLostError
from daemon.workspace import Workspace, temp_path

log = structlog.get_logger()
DAILY = re.compile(r"state-\d{4}-\d{2}-\d{2}\.sqlite")
# What only a workspace that issued documents has: any processed original, PDF of a client or output.
ISSUED = {"archive": "*", "documents": "*.pdf", "outbox": "*"}


def backups_dir(ws: Workspace) -> Path:
    return ws.root / "backups"


def daily_path(ws: Workspace, day: date) -> Path:
    return backups_dir(ws) / f"state-{day:%Y-%m-%d}.sqlite"


def copy_database(source: sqlite3.Connection, target: Path) -> None:
    """An online copy of `source` at `target`, checked, written to a temp name then renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target)
    try:
        copy = sqlite3.connect(tmp)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            problem = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
        if problem != "ok":
            raise sqlite3.DatabaseError(f"копия {target} повреждена: {problem}")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def backup_workspace(ws: Workspace, target: Path) -> None:
    """`billdrop backup`: read-only, so it needs no lock and runs beside the daemon."""
    if not ws.state_path.is_file():
        raise StoreLostError(f"нет базы {ws.state_path}: копировать нечего")
    source = Store(ws.state_path, readonly=True)
    try:
        copy_database(source.conn, target)
    finally:
        source.close()


def daily_backup(store: Store, ws: Workspace, today: date, settings: BackupSettings) -> Path | None:
    """Today's copy, once (the service asks every rescan); the oldest beyond `keep_days` are removed."""
    target = daily_path(ws, today)
    if target.exists():
        return None
    copy_database(store.conn, target)
    removed = daily_copies(ws)[: -settings.keep_days]
    for old in removed:
        old.unlink()
    log.info("backup.written", file=ws.relative(target), removed=[p.name for p in removed])
    return target


def daily_copies(ws: Workspace) -> list[Path]:
    """The daemon's copies in backups/, oldest first."""
    folder = backups_dir(ws)
    return sorted(p for p in folder.iterdir() if DAILY.fullmatch(p.name)) if folder.is_dir() else []


def refuse_missing_store(ws: Workspace) -> None:
    """`StoreLostError`, with how to restore, for a command that would open (and so create) state.sqlite in
    a workspace that issued documents but has none; `billdrop init --new-database` is the new start."""
    if ws.state_path.exists() or not any(
        path.is_file() for folder, pattern in ISSUED.items() for path in (ws.root / folder).rglob(pattern)
    ):
        return
    copies = daily_copies(ws)
    latest = f"cp {ws.relative(copies[-1])} state.sqlite" if copies else "cp КОПИЯ.sqlite state.sqlite"
    raise StoreLostError(
        f"в рабочей папке {ws.root} нет базы state.sqlite, а документы уже выпускались (в archive/, "
        "documents/ или outbox/ есть файлы): с новой базой нумерация началась бы заново и номера "
        f"повторились бы. Верните базу из резервной копии: в {ws.root} выполните {latest} (README, "
        "«Резервные копии и восстановление»); "
        f"начать с новой базой намеренно: billdrop init {ws.root} --new-database"
    )

