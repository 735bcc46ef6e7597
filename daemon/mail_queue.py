"""Mails billdrop composes (documents, notices, reminders) and the queue's flush with retries (shell)."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from daemon.mailer import MailError, Transport, compose, retry_delay_s
from daemon.store import Store
from daemon.store import mail as queue
from daemon.store.mail import MailJob
from daemon.workspace import Workspace

log = structlog.get_logger()


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
        text = self.templates.get_template(name).render(company=self.company, **context)
        subject, _, body = text.partition("\n\n")
        return subject.strip(), body.strip() + "\n"

    def job(self, key: str, recipients: tuple[str, ...], template: str, attachments: tuple[str, ...] = (),
            **context: Any) -> MailJob:
        """A job whose Message-ID derives from its key, so a mail re-sent after a crash keeps its identity."""
        subject, body = self.render(template, **context)
        domain = self.sender.rpartition("@")[2].strip(">") or "billdrop.local"
        message_id = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
        return MailJob(key, recipients, subject, body, attachments, message_id)


def client_mails(
    documents: Iterable[Document], composer: MailComposer, workspace: Workspace
) -> list[MailJob]:
    """One mail per client and period with that period's PDFs; none for clients without an e-mail."""
    jobs = []
    by_client: Callable[[Document], tuple[str, Any]] = lambda d: (d.counterparty.inn, d.period_start)  # noqa: E731
    for (inn, period), group in groupby(sorted(documents, key=by_client), key=by_client):
        docs = list(group)
        email = docs[0].counterparty.email
        if not email:
            log.info("mail.no_address", inn=inn, documents=[d.number for d in docs])
            continue
        key = "documents:" + ":".join(f"{d.kind.value}-{d.number}" for d in docs)
        attachments = tuple(workspace.relative(workspace.document_pdf(d)) for d in docs)
        jobs.append(composer.job(key, (email,), "client_documents.txt.j2", attachments, documents=docs,
                                 counterparty=docs[0].counterparty, period=month_name(period)))
    return jobs


def quarantine_notice(report: FileReport, report_path: str, sha256: str, composer: MailComposer,
                      operators: tuple[str, ...]) -> list[MailJob]:
    """The operator's notice of a rejected file, with its report attached (none without operators)."""
    if not operators:
        return []
    return [
        composer.job(f"quarantine:{sha256}", operators, "file_rejected.txt.j2", (report_path,), report=report)
    ]


def outputs_failed_notice(file_name: str, source: str, error: str, attempts: int, sha256: str,
                          composer: MailComposer, operators: tuple[str, ...]) -> list[MailJob]:
    """The operator's notice that a committed file's outputs keep failing (sent once per file)."""
    if not operators:
        return []
    return [composer.job(f"outputs_failed:{sha256}", operators, "outputs_failed.txt.j2", file_name=file_name,
                         source=source, error=error, attempts=attempts)]


def flush_mail(store: Store, root: Path, settings: MailSettings, transport: Transport,
               clock: Callable[[], datetime]) -> dict[str, int]:
    """Send what is due; temporary failures wait with backoff, permanent ones are marked failed."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for queued in queue.due(store.conn, clock()):
        job = queued.job
        attachments = [
            (path.rpartition("/")[2], (root / path).read_bytes(), _subtype(path)) for path in job.attachments
        ]
        message = compose(
            settings.sender, list(job.recipients), job.subject, job.body, attachments, job.message_id
        )
        try:
            transport.send(message)
        except MailError as exc:
            attempts = queued.attempts + 1
            give_up = exc.permanent or attempts >= settings.max_attempts
            delay = retry_delay_s(attempts, settings.retry_base_seconds)
            queue.mark_failed(
                store.conn, queued.id, str(exc), None if give_up else clock() + timedelta(seconds=delay)
            )
            counts["failed" if give_up else "retry"] += 1
            log.warning(
                "mail.failed", to=list(job.recipients), error=str(exc), attempts=attempts, final=give_up
            )
            continue
        queue.mark_sent(store.conn, queued.id, clock())
        counts["sent"] += 1
        log.info("mail.sent", to=list(job.recipients), subject=job.subject, message_id=job.message_id)
    return counts


def _subtype(path: str) -> str:
    subtypes = {"pdf": "pdf", "html": "text/html", "xml": "xml", "json": "json"}
    return subtypes.get(path.rpartition(".")[2].lower(), "octet-stream")


