"""The mail queue: jobs enqueued with the change that causes them, sent later with retries (shell)."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MailJob:
    """A mail to send; `dedupe_key` makes enqueueing it twice a no-op."""

    dedupe_key: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    attachments: tuple[str, ...]   # workspace-relative paths
    message_id: str


@dataclass(frozen=True)
class QueuedMail:
    id: int
    job: MailJob
    attempts: int


def enqueue(conn: sqlite3.Connection, jobs: Iterable[MailJob], now: datetime) -> None:
    conn.executemany(
        "INSERT INTO mail_jobs (dedupe_key, recipients, subject, body, attachments, next_attempt_at, "
        "message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING",
        [
            (job.dedupe_key, json.dumps(job.recipients, ensure_ascii=False), job.subject, job.body,
             json.dumps(job.attachments, ensure_ascii=False), now.isoformat(), job.message_id,
             now.isoformat())
            for job in jobs
        ],
    )


def due(conn: sqlite3.Connection, now: datetime) -> list[QueuedMail]:
    rows = conn.execute(
        "SELECT id, dedupe_key, recipients, subject, body, attachments, message_id, attempts FROM mail_jobs "
        "WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY id",
        (now.isoformat(),),
    )
    return [
        QueuedMail(row[0], MailJob(row[1], tuple(json.loads(row[2])), row[3], row[4],
                                   tuple(json.loads(row[5])), row[6]), row[7])
        for row in rows
    ]


def mark_sent(conn: sqlite3.Connection, job_id: int, now: datetime) -> None:
    conn.execute(
        "UPDATE mail_jobs SET status = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?",
        (now.isoformat(), job_id),
    )


def mark_failed(conn: sqlite3.Connection, job_id: int, error: str, retry_at: datetime | None) -> None:
    """A temporary failure waits until `retry_at`; None gives up (status failed)."""
    conn.execute(
        "UPDATE mail_jobs SET attempts = attempts + 1, last_error = ?, status = ?, "
        "next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
        (error, "queued" if retry_at else "failed", retry_at.isoformat() if retry_at else None, job_id),
    )


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT status, COUNT(*) FROM mail_jobs GROUP BY status").fetchall())
