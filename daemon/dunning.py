"""Reminding clients of unpaid invoices and managers of overdue clients, once each (shell)."""
from __future__ import annotations

import sqlite3
from datetime import date

import structlog

from daemon.context import Context
from daemon.core.documents import DocumentKind
from daemon.core.rematch import rematch_payments
from daemon.core.reminders import InvoiceDue, due_reminders, overdue_by_manager
from daemon.sources import describe_rematch
from daemon.store import bank, files, invoices
from daemon.store import mail as mail_queue
from daemon.store.documents import document
from daemon.store.mail import MailJob

log = structlog.get_logger()


def invoices_sent(conn: sqlite3.Connection) -> list[InvoiceDue]:
    """Live invoices with a due date whose file's outputs went out: one failing or stuck was never sent,
    so it is neither reminded of nor overdue."""
    undelivered = files.undelivered(conn, DocumentKind.INVOICE.value)
    return [i for i in invoices.invoices_due(conn) if i.number not in undelivered]


def queue_reminders(ctx: Context, today: date) -> int:
    """Plan today's reminders and digests and enqueue them with their record, in one transaction."""
    settings = ctx.settings.reminders
    jobs: list[MailJob] = []
    with ctx.store.transaction() as conn:
        # payments still waiting for their invoices are matched first: no reminder for a paid invoice
        rematch = rematch_payments(bank.rematch_ledger(conn))
        bank.commit_rematch(conn, rematch)
        due = invoices_sent(conn)
        plan = due_reminders(due, invoices.reminders_sent(conn), today, settings.days_after_due)
        for reminder in plan.reminders:
            invoice = reminder.invoice
            issued = document(conn, DocumentKind.INVOICE, invoice.number)
            if not invoice.client_email or issued is None:
                log.info("reminder.no_address", invoice=invoice.number, inn=invoice.inn)
                continue
            attachment = ctx.workspace.relative(ctx.workspace.document_pdf(issued))
            jobs.append(ctx.mail.job(f"reminder:{invoice.number}:{reminder.level}", (invoice.client_email,),
                                     "reminder.txt.j2", (attachment,), invoice=invoice, reminder=reminder))
        for manager, overdue in overdue_by_manager(due, today, settings.default_manager).items():
            jobs.append(ctx.mail.job(f"digest:{manager}:{today.isoformat()}", (manager,),
                                     "manager_digest.txt.j2", invoices=overdue, today=today))
        invoices.record_reminders(conn, [(r.invoice.number, r.level) for r in plan.reminders], today)
        invoices.record_reminders(conn, plan.superseded, today)
        mail_queue.enqueue(conn, jobs, ctx.clock())
    describe_rematch(rematch, "reminders")
    for reminder in plan.reminders:
        log.info("reminder.queued", invoice=reminder.invoice.number, level=reminder.level,
                 days_overdue=reminder.days_overdue, to=reminder.invoice.client_email)
    return len(jobs)
