"""Mails billdrop composes (documents, notices, reminders) and the queue's flush with retries (shell)."""
from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from itertools import groupby
from pathlib import Path
from typing import Any

import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from daemon.config import MailSettings
from daemon.core.documents import Document
from daemon.core.formats import FILTERS, month_name
from daemon.core.records import Company
from daemon.core.report import FileReport
from daemon.mailer import MailError, Transport, compose, header_text, retry_delay_s
from daemon.store import Store
from daemon.store import mail as queue
from daemon.store.mail import MailJob, QueuedMail, Unaddressed
from daemon.workspace import Workspace

log = structlog.get_logger()
# The log event of a delivered job: handed to the relay, or only written into mail/.
DELIVERED = {queue.SENT: "mail.sent", queue.WRITTEN: "mail.written"}


def mail_templates(templates_dir: Path) -> Environment:
    """The mails' environment, with the filters the print forms use, so a sum reads the same in both."""
    env = Environment(
        loader=FileSystemLoader(templates_dir), undefined=StrictUndefined, keep_trailing_newline=True
    )
    env.filters.update(FILTERS)
    return env


@dataclass(frozen=True)
class MailComposer:
    """Mails from templates/mail: a template's first line is the subject, after a blank line the body."""

    templates: Environment
    company: Company
    sender: str

    def render(self, name: str, **context: Any) -> tuple[str, str]:
        """(subject, body); the subject as its header will carry it (`header_text`: a file name's CR/LF
        become a space), so the queue and `status` show what is sent."""
        text = self.templates.get_template(name).render(company=self.company, **context)
        subject, _, body = text.partition("\n\n")
        return header_text(subject).strip(), body.strip() + "\n"

    def job(self, key: str, recipients: tuple[str, ...], template: str, attachments: tuple[str, ...] = (),
            **context: Any) -> MailJob:
        """A job whose Message-ID derives from its key, so a mail re-sent after a crash keeps its identity."""
        subject, body = self.render(template, **context)
        domain = self.sender.rpartition("@")[2].strip(">") or "billdrop.local"
        message_id = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
        return MailJob(key, recipients, subject, body, attachments, message_id)


def client_mails(
    documents: Iterable[Document], composer: MailComposer, workspace: Workspace
) -> tuple[list[MailJob], list[Unaddressed]]:
    """One mail per client and period with that period's PDFs; for a client without an e-mail, the
    documents that go unmailed."""
    jobs, unaddressed = [], []
    by_client: Callable[[Document], tuple[str, Any]] = lambda d: (d.counterparty.inn, d.period_start)  # noqa: E731
    for (inn, period), group in groupby(sorted(documents, key=by_client), key=by_client):
        docs = list(group)
        key = "documents:" + ":".join(f"{d.kind.value}-{d.number}" for d in docs)
        email = docs[0].counterparty.email
        if not email:
            unaddressed.append(Unaddressed(key, inn, docs[0].counterparty.name, period,
                                           tuple((d.kind.value, d.number) for d in docs)))
            continue
        attachments = tuple(workspace.relative(workspace.document_pdf(d)) for d in docs)
        jobs.append(composer.job(key, (email,), "client_documents.txt.j2", attachments, documents=docs,
                                 counterparty=docs[0].counterparty, period=month_name(period)))
    return jobs, unaddressed


def queue_client_mails(conn: sqlite3.Connection, documents: Iterable[Document], composer: MailComposer,
                       workspace: Workspace, now: datetime) -> None:
    """Enqueue the clients' mails and record, for `status`, the clients who have no address."""
    jobs, unaddressed = client_mails(documents, composer, workspace)
    queue.enqueue(conn, jobs, now)
    queue.record_unaddressed(conn, unaddressed, now)
    for entry in unaddressed:
        log.info("mail.no_address", inn=entry.inn, client=entry.client, period=entry.period_start.isoformat(),
                 documents=[number for _, number in entry.documents])


def quarantine_notice(report: FileReport, report_path: str, sha256: str, composer: MailComposer,
                      operators: tuple[str, ...]) -> list[MailJob]:
    """The operator's notice of a rejected file, with its report attached (none without operators)."""
    if not operators:
        return []
    return [
        composer.job(f"quarantine:{sha256}", operators, "file_rejected.txt.j2", (report_path,), report=report)
    ]


def outputs_failed_notice(file_name: str, source: str, error: str, attempts: int, sha256: str,
                          composer: MailComposer, operators: tuple[str, ...],
                          *, stuck: bool = False) -> list[MailJob]:
    """The operator's notice that a committed file's outputs keep failing, or (`stuck`) that it was parked
    after its last attempt; each sent once per file."""
    if not operators:
        return []
    name = "outputs_stuck" if stuck else "outputs_failed"
    return [composer.job(f"{name}:{sha256}", operators, f"{name}.txt.j2", file_name=file_name,
                         source=source, error=error, attempts=attempts)]


def flush_mail(store: Store, root: Path, settings: MailSettings, transport: Transport,
               clock: Callable[[], datetime]) -> dict[str, int]:
    """Send what is due, each job on its own, and count what became of them.

    A temporary failure waits with backoff; a permanent one, or a mail that cannot be built (a missing
    attachment), is marked failed with its reason and the next job goes on. A failure of the relay
    itself (connecting, a silent server, an unwritable mail/) ends the flush: the jobs not yet tried
    wait as long as the failed one, without an attempt counted, rather than each costing a timeout.
    """
    counts = {transport.delivery: 0, "retry": 0, "failed": 0, "postponed": 0}
    pending = queue.due(store.conn, clock())
    for index, queued in enumerate(pending):
        job = queued.job
        try:
            transport.send(_message(queued, root, settings.sender))
        except MailError as exc:
            retry_at = _failed(store, queued, exc.reason, exc.permanent, settings, clock)
            counts["retry" if retry_at else "failed"] += 1
            if exc.relay:
                rest = [later.id for later in pending[index + 1:]]
                until = retry_at or clock() + timedelta(seconds=retry_delay_s(1, settings.retry_base_seconds))
                queue.postpone(store.conn, rest, f"отложено: {exc.reason}", until)
                counts["postponed"] = len(rest)
                log.warning("mail.relay_failed", error=exc.reason, postponed=len(rest),
                            until=until.isoformat())
                break
            continue
        except Exception as exc:  # this mail only (say, an address smtplib cannot encode): final
            log.exception("mail.broken", to=list(job.recipients), subject=job.subject)
            _failed(store, queued, f"письмо не собрать или не отправить: {type(exc).__name__}: {exc}", True,
                    settings, clock)
            counts["failed"] += 1
            continue
        # recorded apart from the send: a store error here must not pass for a failed send
        queue.mark_delivered(store.conn, queued.id, clock(), transport.delivery)
        counts[transport.delivery] += 1
        log.info(DELIVERED[transport.delivery], to=list(job.recipients), subject=job.subject,
                 message_id=job.message_id)
    return counts


def _message(queued: QueuedMail, root: Path, sender: str) -> EmailMessage:
    """The job's mail with its attachments read from the workspace; a missing one fails this job for good."""
    job = queued.job
    attachments = []
    for path in job.attachments:
        try:
            data = (root / path).read_bytes()
        except OSError as exc:
            why = "файл не найден" if isinstance(exc, FileNotFoundError) else exc.strerror or str(exc)
            raise MailError(f"вложение {path}: {why}", permanent=True) from exc
        attachments.append((path.rpartition("/")[2], data, _subtype(path)))
    return compose(sender, list(job.recipients), job.subject, job.body, attachments, job.message_id)


def _failed(store: Store, queued: QueuedMail, reason: str, permanent: bool, settings: MailSettings,
            clock: Callable[[], datetime]) -> datetime | None:
    """Record a failed attempt; returns when it is tried again, None when it is given up."""
    attempts = queued.attempts + 1
    give_up = permanent or attempts >= settings.max_attempts
    delay_s = retry_delay_s(attempts, settings.retry_base_seconds)
    retry_at = None if give_up else clock() + timedelta(seconds=delay_s)
    queue.mark_failed(store.conn, queued.id, reason, retry_at)
    log.warning("mail.failed", to=list(queued.job.recipients), error=reason, attempts=attempts, final=give_up)
    return retry_at


def retry_failed_mail(store: Store, job_ids: list[int] | None, now: datetime) -> list[int]:
    """Failed jobs (these ids, or all) back into the queue for the next flush; returns the ids requeued."""
    with store.transaction() as conn:
        requeued = queue.requeue_failed(conn, job_ids, now)
    log.info("mail.retried", jobs=requeued)
    return requeued


def _subtype(path: str) -> str:
    subtypes = {"pdf": "pdf", "html": "text/html", "xml": "xml", "json": "json"}
    return subtypes.get(path.rpartition(".")[2].lower(), "octet-stream")


