"""Invoices as payments, reminders and `status` see them: paid sums, due dates, balances (shell)."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from daemon.core.reminders import InvoiceDue
from daemon.core.sources.bank import ZERO, OpenInvoice
from daemon.store.cancellations import live
from daemon.store.codec import counterparty_from_json


def invoices_with_payments(conn: sqlite3.Connection) -> list[OpenInvoice]:
    """Every live invoice with what has been paid on it so far (summed in Decimal, not SQLite floats)."""
    paid: dict[str, Decimal] = {}
    for number, amount in conn.execute("SELECT invoice_number, amount FROM allocations"):
        paid[number] = paid.get(number, ZERO) + Decimal(amount)
    rows = conn.execute(
        f"SELECT number, inn, date, total FROM documents d WHERE kind = 'invoice' AND {live('d')} "
        "ORDER BY date, number"
    )
    return [
        OpenInvoice(number, inn, date.fromisoformat(when), Decimal(total), paid.get(number, ZERO))
        for number, inn, when, total in rows
    ]


def invoices_due(conn: sqlite3.Connection) -> list[InvoiceDue]:
    """Live invoices with a due date, their client's e-mail and manager, and what is paid."""
    paid = {inv.number: inv.paid for inv in invoices_with_payments(conn)}
    rows = conn.execute(
        "SELECT d.number, d.inn, d.date, d.due_date, d.total, c.card, f.committed_at FROM documents d "
        "JOIN counterparties c ON c.inn = d.inn JOIN files f ON f.sha256 = d.file_sha256 "
        f"WHERE d.kind = 'invoice' AND d.due_date IS NOT NULL AND {live('d')} ORDER BY d.due_date, d.number"
    )
    result = []
    for number, inn, when, due, total, card, committed in rows:
        party = counterparty_from_json(card)
        result.append(InvoiceDue(number, inn, party.name, party.email, party.manager_email,
                                 date.fromisoformat(when), date.fromisoformat(due), Decimal(total),
                                 paid.get(number, ZERO), datetime.fromisoformat(committed).date()))
    return result


def reminders_sent(conn: sqlite3.Connection) -> set[tuple[str, int]]:
    return {(number, level) for number, level in conn.execute("SELECT invoice_number, level FROM reminders")}


def record_reminders(conn: sqlite3.Connection, levels: Iterable[tuple[str, int]], today: date) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO reminders (invoice_number, level, sent_on) VALUES (?, ?, ?)",
        [(number, level, today.isoformat()) for number, level in levels],
    )


def balances(conn: sqlite3.Connection) -> dict[str, Decimal]:
    return {inn: Decimal(amount) for inn, amount in conn.execute("SELECT inn, amount FROM balances")}


def unmatched_payments(conn: sqlite3.Connection) -> list[tuple[str, str, str, str, str]]:
    return conn.execute(
        "SELECT number, date, amount, payer_inn, payer_name FROM payments WHERE matched = 0 ORDER BY date"
    ).fetchall()
