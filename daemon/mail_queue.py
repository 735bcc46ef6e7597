"""The mail queue: jobs made inside a file's commit, sent after it with retries (shell)."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from itertools import groupby
from typing import TYPE_CHECKING

import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from daemon.core.documents import Document
from daemon.core.periods import month_name
from daemon.core.report import FileReport
from daemon.mailer import MailError, compose, retry_delay_s
from daemon.store import MailJob

if TYPE_CHECKING:
    from daemon.mailer import Transport
    from daemon.pipeline import Deps

log = structlog.get_logger()


def mail_templates(templates_dir) -> Environment:
    """The mails' environment, with the filters the print forms use, so a sum reads the same in both."""
    from daemon.core.formats import FILTERS

    env = Environment(loader=FileSystemLoader(templates_dir), undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters.update(FILTERS)
    return env


def render_mail(deps: Deps, name: str, **context) -> tuple[str, str]:
    """A mail template's first line is the subject, the rest after a blank line the body."""
    text = deps.mail_templates.get_template(name).render(company=deps.company, **context)
    subject, _, body = text.partition("\n\n")
    return subject.strip(), body.strip() + "\n"


def job_for(deps: Deps, key: str, recipients: tuple[str, ...], subject: str, body: str,
            attachments: tuple[str, ...]) -> MailJob:
    """A job whose Message-ID derives from its key, so a mail re-sent after a crash keeps its identity."""
    domain = deps.settings.mail.sender.rpartition("@")[2].strip(">") or "billdrop.local"
    message_id = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
    return MailJob(key, recipients, subject, body, attachments, message_id)


def client_mails(documents: Sequence[Document], deps: Deps) -> list[MailJob]:
    """One mail per client and period with that period's PDFs; none for clients without an e-mail."""
    jobs = []
    by_client = lambda d: (d.counterparty.inn, d.period_start)  # noqa: E731
    for (inn, period), group in groupby(sorted(documents, key=by_client), key=by_client):
        docs = list(group)
        email = docs[0].counterparty.email
        if not email:
            log.info("mail.no_address", inn=inn, documents=[d.number for d in docs])
            continue
        subject, body = render_mail(
            deps, "client_documents.txt.j2", documents=docs, counterparty=docs[0].counterparty,
            period=month_name(period),
        )
        key = "documents:" + ":".join(f"{d.kind.value}-{d.number}" for d in docs)
        attachments = tuple(deps.workspace.relative(deps.workspace.document_pdf(d)) for d in docs)
        jobs.append(job_for(deps, key, (email,), subject, body, attachments))
    return jobs


def quarantine_notice(report: FileReport, report_path: str, sha256: str, deps: Deps) -> MailJob:
    subject, body = render_mail(deps, "file_rejected.txt.j2", report=report)
    return job_for(deps, f"quarantine:{sha256}", deps.settings.mail.operators, subject, body, (report_path,))


def flush_mail(deps: Deps, transport: Transport) -> dict[str, int]:
    """Send what is due; temporary failures wait with backoff, permanent ones are marked failed."""
    store, counts = deps.store, {"sent": 0, "retry": 0, "failed": 0}
    for queued in store.due_mail(deps.clock()):
        job = queued.job
        attachments = [
            (path.rpartition("/")[2], (deps.workspace.root / path).read_bytes(), _subtype(path))
            for path in job.attachments
        ]
        message = compose(
            deps.settings.mail.sender, list(job.recipients), job.subject, job.body, attachments, job.message_id
        )
        try:
            transport.send(message)
        except MailError as exc:
            attempts = queued.attempts + 1
            give_up = exc.permanent or attempts >= deps.settings.mail.max_attempts
            delay = retry_delay_s(attempts, deps.settings.mail.retry_base_seconds)
            retry_at = None if give_up else deps.clock() + timedelta(seconds=delay)
            store.mark_mail_failed(queued.id, str(exc), retry_at)
            counts["failed" if give_up else "retry"] += 1
            log.warning("mail.failed", to=list(job.recipients), error=str(exc), attempts=attempts, final=give_up)
            continue
        store.mark_mail_sent(queued.id, deps.clock())
        counts["sent"] += 1
        log.info("mail.sent", to=list(job.recipients), subject=job.subject, message_id=job.message_id)
    return counts


def _subtype(path: str) -> str:
    return {"pdf": "pdf", "html": "text/html", "xml": "xml", "json": "json"}.get(path.rpartition(".")[2].lower(), "octet-stream")
