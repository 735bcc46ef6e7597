"""Reminder levels, catch-up after downtime, and managers' digests."""
from datetime import date
from decimal import Decimal

from daemon.core.reminders import InvoiceDue, due_reminders, overdue_by_manager

DUE = date(2026, 11, 11)


def invoice(number: str, paid: str = "0", manager: str | None = None) -> InvoiceDue:
    return InvoiceDue(number, "6674085940", 'ООО "Гранит"', "buh@granit.ru", manager, date(2026, 11, 1), DUE,
                      Decimal("100.00"), Decimal(paid))


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


def test_paid_invoices_are_not_reminded():
    """A fully paid invoice gets no reminder and is in no digest."""
    paid = invoice("2611-00001", paid="100.00")
    assert due_reminders([paid], set(), date(2026, 11, 25), [3]).reminders == ()
    assert overdue_by_manager([paid], date(2026, 11, 25), "boss@x.ru") == {}


def test_digest_per_manager_with_default():
    """Invoices go to their own manager, the rest to the default one."""
    digests = overdue_by_manager(
        [invoice("A-1", manager="anna@x.ru"), invoice("A-2"), invoice("A-3", paid="50")], date(2026, 11, 20), "boss@x.ru"
    )
    assert {m: [i.number for i in v] for m, v in digests.items()} == {"anna@x.ru": ["A-1"], "boss@x.ru": ["A-2", "A-3"]}
