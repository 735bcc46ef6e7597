"""The generic runner: claim → read → validate → quarantine, or plan → commit → outputs → archive (shell).

Every kind goes through the same steps (daemon.sources.KINDS says what each does); each step is safe
to repeat after a crash: a committed file writes its outputs again from the committed state, an
uncommitted one is processed from scratch, a quarantined one is reported once.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from daemon import inbox
from daemon.config import Settings
from daemon.context import Context
from daemon.core.reading import FileError
from daemon.core.report import ERRORS_HTML, FileReport, display_name, report_sidecars, sidecar_name
from daemon.core.rows import Checked
from daemon.core.schema import DEFAULT_MAX_FILE_BYTES, SourceSchema
from daemon.mail_queue import outputs_failed_notice, quarantine_notice
from daemon.outputs import CommittedFile, write_outputs
from daemon.sources import KINDS
from daemon.store import files
from daemon.store import mail as mail_queue
from daemon.store.files import Intake
from daemon.workspace import write_atomic

log = structlog.get_logger()
MAX_RETRY_S = 3600.0
HEADER_ONLY = "в файле нет ни одной строки с данными, только заголовок"


@dataclass(frozen=True)
class Accepted:
    documents: int
    skipped: int


@dataclass(frozen=True)
class Quarantined:
    reason: str
    errors: int


@dataclass(frozen=True)
class Duplicate:
    archived_as: Path


@dataclass(frozen=True)
class Failed:
    """Committed, but an output could not be written: the file waits in work/ and is retried."""

    error: str
    attempts: int


@dataclass(frozen=True)
class Waiting:
    """Committed, its outputs failed, and its next attempt is not due yet: left alone in work/."""

    retry_at: datetime


@dataclass(frozen=True)
class Stuck:
    """Committed, its outputs failed `[watch] stuck_after_attempts` times: parked in work/, the operator told;
    `fresh` is False when it was already stuck and left alone (until `billdrop retry`)."""

    error: str
    fresh: bool


FileOutcome = Accepted | Quarantined | Duplicate | Failed | Waiting | Stuck


@dataclass(frozen=True)
class Rejected:
    """Why a file cannot be accepted, as its quarantine report says it."""

    report: FileReport
    rows: int


@dataclass(frozen=True)
class Planned:
    plan: Any
    rows: int
    skipped: int


def schema_of(source: str, settings: Settings, schemas: Mapping[str, SourceSchema]) -> SourceSchema | None:
    return schemas.get(settings.sources[source].schema_name)


def check_file(data: bytes, file_name: str, source: str, settings: Settings,
               schemas: Mapping[str, SourceSchema]) -> Checked[Any] | Rejected:
    """Read and validate a file as its source's kind reads it (pure: nothing is stored)."""
    kind = KINDS[settings.sources[source].kind]
    checked = kind.check(data, file_name, schema_of(source, settings, schemas))
    if isinstance(checked, FileError):
        return Rejected(FileReport.for_file(file_name, source, checked.reason), 0)
    rows = len(checked.records)
    if checked.errors:
        return Rejected(FileReport.for_rows(file_name, source, list(checked.errors)), rows)
    if not rows:
        return Rejected(FileReport.for_file(file_name, source, HEADER_ONLY), 0)
    return checked


def plan_file(conn: sqlite3.Connection, checked: Checked[Any], file_name: str, source: str,
              settings: Settings, today: date) -> Planned | Rejected:
    """The kind's plan against the ledger in `conn`, or the row errors stopping the file before any number."""
    conf = settings.sources[source]
    kind = KINDS[conf.kind]
    rules = kind.rules(conf, settings)
    plan = kind.plan(checked.records, kind.load(conn, checked.records, rules), rules, today)
    rows = len(checked.records)
    if isinstance(plan, tuple):
        return Rejected(FileReport.for_rows(file_name, source, list(plan)), rows)
    return Planned(plan, rows, len(getattr(plan, "skipped", ())))


def process_file(path: Path, source: str, ctx: Context, *, retry_now: bool = True,
                 unstick: bool = False) -> FileOutcome:
    """Process a file claimed into work/; `retry_now=False` (the daemon) lets a failing file's backoff run,
    `unstick` (`billdrop retry`) puts a stuck file through its outputs again."""
    started = time.monotonic()
    taken = take_input(path, source, ctx.settings, ctx.schemas)
    outcome: FileOutcome
    if isinstance(taken, inbox.Unfit):  # refused unread: not a file of its own, unreadable or too big
        sha256 = taken.key
        intake = Intake(path.name, sha256, source, 0, ctx.clock())
        outcome, rows = quarantine(path, intake, FileReport.for_file(path.name, source, taken.reason), ctx), 0
    else:
        sha256 = taken.sha256
        outcome, rows = _process(path, taken.data, sha256, source, ctx, retry_now, unstick)
    if isinstance(outcome, Waiting) or (isinstance(outcome, Stuck) and not outcome.fresh):
        return outcome  # nothing was done: nothing to log at every rescan
    log.bind(file=display_name(path.name), source=source, sha256=sha256[:12]).info(
        "file.processed",
        outcome=type(outcome).__name__.lower(),
        rows=rows,
        documents=outcome.documents if isinstance(outcome, Accepted) else 0,
        duration_ms=round((time.monotonic() - started) * 1000),
        **({"reason": outcome.reason} if isinstance(outcome, Quarantined) else {}),
    )
    return outcome


def take_input(path: Path, source: str, settings: Settings, schemas: Mapping[str, SourceSchema],
               *, sole_name: bool = True) -> inbox.Taken | inbox.Unfit:
    """The file's bytes as `process` reads them: a regular file, never through a link, without blocking,
    within its source's size limit (inbox.take)."""
    schema = schema_of(source, settings, schemas)
    return inbox.take(path, schema.max_file_bytes if schema else DEFAULT_MAX_FILE_BYTES, sole_name=sole_name)


def _process(path: Path, data: bytes, sha256: str, source: str, ctx: Context,
             retry_now: bool, unstick: bool) -> tuple[FileOutcome, int]:
    conn = ctx.store.conn
    status = files.outcome(conn, sha256)
    if status == "done":
        return Duplicate(ctx.move(path, ctx.workspace.archive(source, ctx.clock().date()))), 0
    if status in ("committed", "stuck"):  # crashed or failed after the commit: outputs again, same numbers
        return _resume_committed(path, sha256, source, ctx, status == "stuck", retry_now, unstick), 0
    checked = check_file(data, path.name, source, ctx.settings, ctx.schemas)
    ctx.progress()
    now = ctx.clock()
    if isinstance(checked, Rejected):
        intake = Intake(path.name, sha256, source, checked.rows, now)
        return quarantine(path, intake, checked.report, ctx), checked.rows
    intake = Intake(path.name, sha256, source, len(checked.records), now)
    kind = KINDS[ctx.settings.sources[source].kind]
    with ctx.store.transaction() as conn:
        planned = plan_file(conn, checked, path.name, source, ctx.settings, now.date())
        if isinstance(planned, Planned):
            kind.commit(conn, planned.plan, intake)
    ctx.progress()
    if isinstance(planned, Rejected):
        return quarantine(path, intake, planned.report, ctx), planned.rows
    kind.describe(planned.plan, display_name(path.name))
    return _finish(path, CommittedFile(source, sha256, now), planned.skipped, ctx), planned.rows


def _resume_committed(path: Path, sha256: str, source: str, ctx: Context, stuck: bool, retry_now: bool,
                      unstick: bool) -> FileOutcome:
    """A committed file's outputs again, unless its backoff is running or it is stuck and not unstuck."""
    conn = ctx.store.conn
    if stuck and not unstick:
        return Stuck(files.last_error(conn, sha256), fresh=False)
    if stuck:
        with ctx.store.transaction() as conn:
            files.unstick(conn, sha256)
    retry_at = files.retry_at(conn, sha256)
    if not retry_now and retry_at is not None and retry_at > ctx.clock():
        return Waiting(retry_at)
    return _finish(path, CommittedFile(source, sha256, files.committed_at(conn, sha256)), 0, ctx)


def _finish(path: Path, file: CommittedFile, skipped: int, ctx: Context) -> Accepted | Failed | Stuck:
    """Every output, then the original to archive/; a failure is retried with backoff and reported."""
    try:
        write_outputs(ctx, file)
    # Any failure after the commit (disk full, a broken template) is recorded and retried with backoff:
    # nothing is half-written and the numbers stay, so the file must not end up nowhere.
    except Exception as exc:  # noqa: BLE001
        return _outputs_failed(file, path.name, exc, ctx)
    ctx.move(path, ctx.workspace.archive(file.source, file.committed_at.date()))
    files.record_done(ctx.store.conn, file.sha256, ctx.clock())
    return Accepted(files.documents(ctx.store.conn, file.sha256), skipped)


def _outputs_failed(file: CommittedFile, file_name: str, exc: Exception, ctx: Context) -> Failed | Stuck:
    """The failure recorded with its next attempt; the last allowed one parks the file as stuck instead."""
    error = f"{type(exc).__name__}: {exc}"
    now = ctx.clock()
    watch = ctx.settings.watch
    operators = ctx.settings.mail.operators
    with ctx.store.transaction() as conn:
        count = files.attempts(conn, file.sha256) + 1
        delay = min(watch.rescan_seconds * 2 ** (count - 1), MAX_RETRY_S)
        files.record_failure(conn, file.sha256, error, count, now + timedelta(seconds=delay))
        stuck = count >= watch.stuck_after_attempts
        if stuck:
            files.record_stuck(conn, file.sha256)
        if stuck or (count >= watch.output_alert_attempts and files.mark_alerted(conn, file.sha256)):
            notice = outputs_failed_notice(file_name, file.source, error, count, file.sha256, ctx.mail,
                                           operators, stuck=stuck)
            mail_queue.enqueue(conn, notice, now)
    log.error("file.stuck" if stuck else "file.outputs_failed", file=file_name, source=file.source,
              attempts=count, error=error, **({} if stuck else {"retry_in_s": delay}), exc_info=exc)
    return Stuck(error, fresh=True) if stuck else Failed(error, count)


def quarantine(path: Path, intake: Intake, report: FileReport, ctx: Context) -> Quarantined:
    """The report beside the file's place in quarantine/, then the record and the operator's notice in one
    transaction, then the file itself: a crash at any step repeats it with the same names, one notice."""
    ws = ctx.workspace
    target = inbox.free_path(ws.quarantine(intake.source), path.name)
    for suffix, data in report_sidecars(report).items():
        write_atomic(target.with_name(sidecar_name(target.name, suffix)), data)
    html_report = ws.relative(target.with_name(sidecar_name(target.name, ERRORS_HTML)))
    with ctx.store.transaction() as conn:
        files.record_quarantined(conn, intake)
        notice = quarantine_notice(report, html_report, intake.sha256, ctx.mail, ctx.settings.mail.operators)
        mail_queue.enqueue(conn, notice, intake.now)
    ctx.move(path, target.parent, name=target.name)
    log.warning("file.quarantined", file=display_name(path.name), source=intake.source,
                errors=report.total_errors, to=display_name(str(target)))
    return Quarantined(report.reason, report.total_errors)


