"""The mail queue: jobs enqueued with the change that causes them, sent later with retries (shell).

Times are stored in UTC (ISO with +00:00), so a change of the machine's zone neither holds mails back
nor sends them early; a naive time passed in is the local wall clock (the Context's clock), and a
naive time read back is a row written before times were UTC, read the same way.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

# A job's status: waiting (maybe after a temporary failure), handed to an SMTP relay, written as an
# .eml file only (no relay configured), or given up.
QUEUED, SENT, WRITTEN, FAILED = "queued", "sent", "written", "failed"
STATUSES = (WRITTEN, SENT, QUEUED, FAILED)


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


@dataclass(frozen=True)
class MailProblem:
    """A job that failed: given up (status failed, no next attempt) or waiting for `next_attempt_at`."""

    id: int
    status: str
    recipients: tuple[str, ...]
    subject: str
    attempts: int
    error: str
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class Unaddressed:
    """A client's documents of a period that were not mailed: the client has no e-mail address."""

    key: str                              # as the mail's dedupe_key would have been
    inn: str
    client: str
    period_start: date
    documents: tuple[tuple[str, str], ...]   # (kind, number)


def utc(when: datetime) -> datetime:
    """`when` in UTC; a naive `when` is local wall-clock time (astimezone reads the zone now in force)."""
    return when.astimezone(UTC)


def _stamp(when: datetime) -> str:
    return utc(when).isoformat()


def _read(text: str) -> datetime:
    return utc(datetime.fromisoformat(text))


def enqueue(conn: sqlite3.Connection, jobs: Iterable[MailJob], now: datetime) -> None:
    conn.executemany(
        "INSERT INTO mail_jobs (dedupe_key, recipients, subject, body, attachments, next_attempt_at, "
        "message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING",
        [
            (job.dedupe_key, json.dumps(job.recipients, ensure_ascii=False), job.subject, job.body,
             json.dumps(job.attachments, ensure_ascii=False), _stamp(now), job.message_id, _stamp(now))
            for job in jobs
        ],
    )


def due(conn: sqlite3.Connection, now: datetime) -> list[QueuedMail]:
    """Queued jobs whose next attempt is not later than `now`, oldest first (compared as instants, so
    rows from before UTC compare right too)."""
    rows = conn.execute(
        "SELECT id, dedupe_key, recipients, subject, body, attachments, message_id, attempts, "
        "next_attempt_at FROM mail_jobs WHERE status = ? ORDER BY id",
        (QUEUED,),
    )
    limit = utc(now)
    return [
        QueuedMail(row[0], MailJob(row[1], tuple(json.loads(row[2])), row[3], row[4],
                                   tuple(json.loads(row[5])), row[6]), row[7])
        for row in rows
        if _read(row[8]) <= limit
    ]


def mark_delivered(conn: sqlite3.Connection, job_id: int, now: datetime, status: str) -> None:
    """The job went out: SENT by an SMTP relay, or WRITTEN as an .eml file."""
    conn.execute(
        "UPDATE mail_jobs SET status = ?, sent_at = ?, attempts = attempts + 1 WHERE id = ?",
        (status, _stamp(now), job_id),
    )


def mark_failed(conn: sqlite3.Connection, job_id: int, error: str, retry_at: datetime | None) -> None:
    """A temporary failure waits until `retry_at`; None gives up (status failed)."""
    conn.execute(
        "UPDATE mail_jobs SET attempts = attempts + 1, last_error = ?, status = ?, "
        "next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
        (error, QUEUED if retry_at else FAILED, _stamp(retry_at) if retry_at else None, job_id),
    )


def postpone(conn: sqlite3.Connection, job_ids: Sequence[int], error: str, until: datetime) -> None:
    """Jobs not tried because the relay is down: they wait until `until`, no attempt counted."""
    conn.executemany(
        "UPDATE mail_jobs SET last_error = ?, next_attempt_at = ? WHERE id = ? AND status = ?",
        [(error, _stamp(until), job_id, QUEUED) for job_id in job_ids],
    )


def requeue_failed(conn: sqlite3.Connection, job_ids: Sequence[int] | None, now: datetime) -> list[int]:
    """Failed jobs (these, or all) queued again from `now`, attempts counted afresh; returns their ids."""
    rows = conn.execute("SELECT id FROM mail_jobs WHERE status = ? ORDER BY id", (FAILED,))
    failed = [row[0] for row in rows]
    wanted = set(failed if job_ids is None else job_ids)
    chosen = [job_id for job_id in failed if job_id in wanted]
    conn.executemany(
        "UPDATE mail_jobs SET status = ?, attempts = 0, next_attempt_at = ? WHERE id = ?",
        [(QUEUED, _stamp(now), job_id) for job_id in chosen],
    )
    return chosen


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Jobs per status that has any."""
    return dict(conn.execute("SELECT status, COUNT(*) FROM mail_jobs GROUP BY status").fetchall())


def problems(conn: sqlite3.Connection) -> list[MailProblem]:
    """Failed jobs, and queued ones waiting after an error, oldest first."""
    rows = conn.execute(
        "SELECT id, status, recipients, subject, attempts, last_error, next_attempt_at FROM mail_jobs "
        "WHERE status = ? OR (status = ? AND last_error IS NOT NULL) ORDER BY id",
        (FAILED, QUEUED),
    )
    return [MailProblem(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], row[5],
                        _read(row[6]) if row[1] == QUEUED else None)
            for row in rows]


def record_unaddressed(conn: sqlite3.Connection, entries: Iterable[Unaddressed], now: datetime) -> None:
    """Remember documents not mailed for want of an address (once each, as a mail job), for `status`."""
    conn.executemany(
        "INSERT INTO mail_unaddressed (key, inn, client, period_start, documents, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING",
        [(e.key, e.inn, e.client, e.period_start.isoformat(), json.dumps(e.documents, ensure_ascii=False),
          _stamp(now)) for e in entries],
    )


def unaddressed(conn: sqlite3.Connection) -> list[Unaddressed]:
    """Every recorded client without an address, by period, then client name and ИНН."""
    rows = conn.execute(
        "SELECT key, inn, client, period_start, documents FROM mail_unaddressed "
        "ORDER BY period_start, client, inn"
    )
    return [Unaddressed(row[0], row[1], row[2], date.fromisoformat(row[3]),
                        tuple((kind, number) for kind, number in json.loads(row[4])))
            for row in rows]
