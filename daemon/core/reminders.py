"""Payment reminders: which are due today, and the managers' daily digests (core).

Reminders are computed from state ("due and not yet sent at level k"), so a day the service was down
is caught up the next run — with the highest level only: a client never gets two at once. The schedule
counts from the due date, or from the day billdrop issued the invoice when that is later (an export of an
old period): nobody gets a reminder together with the invoice it is about.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class InvoiceDue:
    number: str
    inn: str
    client_name: str
    client_email: str | None
    manager_email: str | None
    # `dt.date` in this class: the field `date` shadows the type for the annotations below it
    date: dt.date
    due_date: dt.date
    total: Decimal
    paid: Decimal
    issued_on: dt.date     # the day billdrop issued (and mailed) it

    @property
    def reminded_from(self) -> dt.date:
        return max(self.due_date, self.issued_on)

    @property
    def outstanding(self) -> Decimal:
        return self.total - self.paid


@dataclass(frozen=True)
class Reminder:
    invoice: InvoiceDue
    level: int          # 1-based position in the schedule
    days_overdue: int


@dataclass(frozen=True)
class ReminderPlan:
    reminders: tuple[Reminder, ...]
    superseded: tuple[tuple[str, int], ...]   # lower levels skipped by a catch-up; marked sent too


def due_reminders(
    invoices: Sequence[InvoiceDue],
    sent: Collection[tuple[str, int]],
    today: date,
    schedule_days: Sequence[int],
) -> ReminderPlan:
    """The reminders due today, one per invoice (its highest due level), and the levels it skips."""
    reminders: list[Reminder] = []
    superseded: list[tuple[str, int]] = []
    for invoice in invoices:
        if invoice.outstanding <= 0:
            continue
        due_levels = [
            level for level, days in enumerate(schedule_days, start=1)
            if today >= invoice.reminded_from + timedelta(days=days) and (invoice.number, level) not in sent
        ]
        if due_levels:
            top = due_levels[-1]
            reminders.append(Reminder(invoice, top, (today - invoice.due_date).days))
            superseded.extend((invoice.number, level) for level in due_levels[:-1])
    return ReminderPlan(tuple(reminders), tuple(superseded))


def overdue_by_manager(
    invoices: Sequence[InvoiceDue], today: date, default_manager: str | None
) -> dict[str, list[InvoiceDue]]:
    """Each manager's overdue, not fully paid invoices (the daily digest); no manager, no default: skipped."""
    digests: dict[str, list[InvoiceDue]] = {}
    for invoice in invoices:
        manager = invoice.manager_email or default_manager
        if manager and invoice.outstanding > 0 and today > invoice.due_date:
            digests.setdefault(manager, []).append(invoice)
    return digests
