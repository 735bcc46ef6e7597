"""Reminder levels, catch-up after downtime, and managers' digests."""
from datetime import date
from decimal import Decimal

from daemon.core.reminders import InvoiceDue, due_reminders, overdue_by_manager

DUE = date(2026, 11, 11)


def invoice(
    number: str, paid: str = "0", manager: str | None = None, issued_on: date = date(2026, 11, 1)
) -> InvoiceDue:
    return InvoiceDue(
        number,
        "6674085940",
        'ООО "Гранит"',
        "buh@granit.ru",
        manager,
        date(2026, 11, 1),
        DUE,
        Decimal("100.00"),
        Decimal(paid),
        issued_on,
    )


def test_levels_come_in_turn_and_never_twice():
    """Day 3 after due: level 1; once sent, not again; day 10: level 2."""
    inv = [invoice("2611-00004")]
    assert due_reminders(inv, set(), date(2026, 11, 13), [3, 10]).reminders == ()
    first = due_reminders(inv, set(), date(2026, 11, 14), [3, 10]).reminders
    assert [(r.invoice.number, r.level) for r in first] == [("2611-00004", 1)]
    assert due_reminders(inv, {("2611-00004", 1)}, date(2026, 11, 15), [3, 10]).reminders == ()
    assert due_reminders(inv, {("2611-00004", 1)}, date(2026, 11, 21), [3, 10]).reminders[0].level == 2


def test_catch_up_sends_only_the_highest_level():
    """After downtime past both dates: one reminder (level 2), level 1 marked superseded."""
    plan = due_reminders([invoice("2611-00004")], set(), date(2026, 11, 25), [3, 10])
    assert [r.level for r in plan.reminders] == [2] and plan.superseded == (("2611-00004", 1),)


def test_an_invoice_issued_after_its_due_date_is_reminded_after_the_grace_from_issue():
    """An old period exported late: no reminder with the invoice; level 1 three days after it was issued."""
    late = [invoice("2610-00004", issued_on=date(2026, 11, 25))]
    assert due_reminders(late, set(), date(2026, 11, 25), [3, 10]).reminders == ()
    assert due_reminders(late, set(), date(2026, 11, 27), [3, 10]).reminders == ()
    first = due_reminders(late, set(), date(2026, 11, 28), [3, 10]).reminders
    assert [(r.level, r.days_overdue) for r in first] == [(1, 17)]
    # managers see it at once
    assert overdue_by_manager(late, date(2026, 11, 25), "boss@x.ru")["boss@x.ru"] == late


def test_paid_invoices_are_not_reminded():
    """A fully paid invoice gets no reminder and is in no digest."""
    paid = invoice("2611-00001", paid="100.00")
    assert due_reminders([paid], set(), date(2026, 11, 25), [3]).reminders == ()
    assert overdue_by_manager([paid], date(2026, 11, 25), "boss@x.ru") == {}


def test_digest_per_manager_with_default():
    """Invoices go to their own manager, the rest to the default one."""
    digests = overdue_by_manager(
        [invoice("A-1", manager="anna@x.ru"), invoice("A-2"), invoice("A-3", paid="50")],
        date(2026, 11, 20),
        "boss@x.ru",
    )
    assert {m: [i.number for i in v] for m, v in digests.items()} == {
        "anna@x.ru": ["A-1"],
        "boss@x.ru": ["A-2", "A-3"],
    }
