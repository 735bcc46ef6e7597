"""Reminding clients of unpaid invoices and managers of overdue clients, once each (shell)."""
from __future__ import annotations

from datetime import date

import structlog

from daemon.core.documents import DocumentKind
from daemon.core.reminders import due_reminders, overdue_by_manager
from daemon.mail_queue import job_for, render_mail
from daemon.pipeline import Deps
from daemon.store import MailJob

log = structlog.get_logger()


def queue_reminders(deps: Deps, today: date) -> int:
    """Plan today's reminders and digests and enqueue them with their record, in one transaction."""
    settings = deps.settings.reminders
    jobs: list[MailJob] = []
    with deps.store.transaction() as conn:
        invoices = deps.store.invoices_due(conn)
        plan = due_reminders(invoices, deps.store.reminders_sent(conn), today, settings.days_after_due)
        for reminder in plan.reminders:
            invoice = reminder.invoice
            if not invoice.client_email:
                log.info("reminder.no_address", invoice=invoice.number, inn=invoice.inn)
                continue
            document = deps.store.document(DocumentKind.INVOICE.value, invoice.number)
            subject, body = render_mail(deps, "reminder.txt.j2", invoice=invoice, reminder=reminder)
            attachment = deps.workspace.relative(deps.workspace.document_pdf(document))
            jobs.append(job_for(deps, f"reminder:{invoice.number}:{reminder.level}", (invoice.client_email,),
                                subject, body, (attachment,)))
        for manager, overdue in overdue_by_manager(invoices, today, settings.default_manager).items():
            subject, body = render_mail(deps, "manager_digest.txt.j2", invoices=overdue, today=today)
            jobs.append(job_for(deps, f"digest:{manager}:{today.isoformat()}", (manager,), subject, body, ()))
        deps.store.record_reminders(conn, [(r.invoice.number, r.level) for r in plan.reminders], today)
        deps.store.record_reminders(conn, plan.superseded, today)
        deps.store.enqueue_mails(conn, jobs, deps.clock())
    for reminder in plan.reminders:
        log.info("reminder.queued", invoice=reminder.invoice.number, level=reminder.level,
                 days_overdue=reminder.days_overdue, to=reminder.invoice.client_email)
    return len(jobs)
