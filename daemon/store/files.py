"""The files billdrop has seen (committed, done, quarantined or stuck) and the retries of failing outputs
(shell).

A committed file whose outputs keep failing is retried with backoff, then parked as `stuck`: it stays in
work/, is left alone until `billdrop retry` puts it back (`unstick`), and its documents count as not
delivered (no reminder, not overdue in `status`).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from daemon.core.report import display_name


@dataclass(frozen=True)
class Intake:
    """The file being committed, as the store records it."""

    name: str   # as on disk; stored as display_name shows it (SQLite takes no undecodable bytes)
    sha256: str
    source: str
    rows: int
    now: datetime


@dataclass(frozen=True)
class FailingFile:
    """A committed file whose outputs keep failing: retried with backoff, or stuck; shown in `status`."""

    name: str
    source: str
    attempts: int
    last_error: str
    retry_at: datetime | None
    stuck: bool


def outcome(conn: sqlite3.Connection, sha256: str) -> str | None:
    row = conn.execute("SELECT outcome FROM files WHERE sha256 = ?", (sha256,)).fetchone()
    return row[0] if row else None


def committed_at(conn: sqlite3.Connection, sha256: str) -> datetime:
    row = conn.execute("SELECT committed_at FROM files WHERE sha256 = ?", (sha256,)).fetchone()
    return datetime.fromisoformat(row[0])


def record_committed(conn: sqlite3.Connection, intake: Intake, documents: int) -> None:
    conn.execute(
        "INSERT INTO files (sha256, source, name, outcome, rows, documents, committed_at) "
        "VALUES (?, ?, ?, 'committed', ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET outcome='committed', "
        "source=excluded.source, name=excluded.name, rows=excluded.rows, documents=excluded.documents, "
        "committed_at=excluded.committed_at, finished_at=NULL, attempts=0, "
        "last_error=NULL, retry_at=NULL, alerted=0",
        (intake.sha256, intake.source, display_name(intake.name), intake.rows, documents,
         intake.now.isoformat()),
    )


def record_done(conn: sqlite3.Connection, sha256: str, now: datetime) -> None:
    conn.execute(
        "UPDATE files SET outcome = 'done', finished_at = ?, retry_at = NULL WHERE sha256 = ?",
        (now.isoformat(), sha256),
    )


def record_quarantined(conn: sqlite3.Connection, intake: Intake) -> None:
    """A rejected file is remembered for status; dropping it again (fixed or not) is processed anew."""
    stamp = intake.now.isoformat()
    conn.execute(
        "INSERT OR REPLACE INTO files (sha256, source, name, outcome, rows, committed_at, finished_at) "
        "VALUES (?, ?, ?, 'quarantined', ?, ?, ?)",
        (intake.sha256, intake.source, display_name(intake.name), intake.rows, stamp, stamp),
    )


def attempts(conn: sqlite3.Connection, sha256: str) -> int:
    row = conn.execute("SELECT attempts FROM files WHERE sha256 = ?", (sha256,)).fetchone()
    return int(row[0]) if row else 0


def record_failure(conn: sqlite3.Connection, sha256: str, error: str, count: int, retry_at: datetime) -> None:
    """The `count`-th failed attempt at a committed file's outputs, and when to try again."""
    conn.execute(
        "UPDATE files SET attempts = ?, last_error = ?, retry_at = ? WHERE sha256 = ?",
        (count, error, retry_at.isoformat(), sha256),
    )


def record_stuck(conn: sqlite3.Connection, sha256: str) -> None:
    """Parked after its last allowed attempt: no retry is due until the operator's `billdrop retry`."""
    conn.execute("UPDATE files SET outcome = 'stuck', retry_at = NULL WHERE sha256 = ?", (sha256,))


def unstick(conn: sqlite3.Connection, sha256: str) -> None:
    """A stuck file back to committed with its attempts counted afresh (the operator fixed the cause)."""
    conn.execute(
        "UPDATE files SET outcome = 'committed', attempts = 0, retry_at = NULL, alerted = 0 "
        "WHERE sha256 = ? AND outcome = 'stuck'",
        (sha256,),
    )


def undelivered(conn: sqlite3.Connection, kind: str) -> set[str]:
    """Numbers of documents of `kind` whose file's outputs have not all been written (failing or stuck)."""
    rows = conn.execute(
        "SELECT d.number FROM documents d JOIN files f ON f.sha256 = d.file_sha256 "
        "WHERE d.kind = ? AND f.outcome IN ('committed', 'stuck')",
        (kind,),
    )
    return {number for (number,) in rows}


def retry_at(conn: sqlite3.Connection, sha256: str) -> datetime | None:
    row = conn.execute("SELECT retry_at FROM files WHERE sha256 = ?", (sha256,)).fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def last_error(conn: sqlite3.Connection, sha256: str) -> str:
    row = conn.execute("SELECT last_error FROM files WHERE sha256 = ?", (sha256,)).fetchone()
    return str(row[0] or "") if row else ""


def mark_alerted(conn: sqlite3.Connection, sha256: str) -> bool:
    """True the first time only: the operator hears of a failing file once."""
    cursor = conn.execute("UPDATE files SET alerted = 1 WHERE sha256 = ? AND alerted = 0", (sha256,))
    return cursor.rowcount == 1


def failing(conn: sqlite3.Connection) -> list[FailingFile]:
    rows = conn.execute(
        "SELECT name, source, attempts, last_error, retry_at, outcome FROM files "
        "WHERE outcome IN ('committed', 'stuck') AND attempts > 0 ORDER BY committed_at, name"
    )
    return [
        FailingFile(name, source, attempts, error or "", datetime.fromisoformat(when) if when else None,
                    outcome == "stuck")
        for name, source, attempts, error, when, outcome in rows
    ]


def documents(conn: sqlite3.Connection, sha256: str) -> int:
    """How many documents the committed file issued."""
    return int(conn.execute("SELECT documents FROM files WHERE sha256 = ?", (sha256,)).fetchone()[0])


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT outcome, COUNT(*) FROM files GROUP BY outcome").fetchall())
