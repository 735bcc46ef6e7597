"""Annulled documents and payment orders: what a number names, the record, the payout it frees (shell)."""
from __future__ import annotations

import sqlite3
from datetime import date, datetime
from decimal import Decimal

from daemon.core.cancellations import Cancellation, Candidate
from daemon.core.documents import Document, DocumentKind
from daemon.core.sources.acceptances import PaymentOrder
from daemon.store.codec import document_from_json, payment_order_from_json


def live(alias: str) -> str:
    """SQL true for a row of documents (as `alias`) that is not cancelled."""
    return (f"NOT EXISTS (SELECT 1 FROM cancellations x WHERE x.kind = {alias}.kind "
            f"AND x.number = {alias}.number)")


def _cancellation(row: tuple) -> Cancellation:
    kind, number, day, inn, total, reason, when = row
    return Cancellation(DocumentKind(kind), number, date.fromisoformat(day), inn, Decimal(total), reason,
                        datetime.fromisoformat(when))


_COLUMNS = "kind, number, date, inn, total, reason, cancelled_at"


def cancelled(conn: sqlite3.Connection) -> list[Cancellation]:
    """Every annulment, latest first."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM cancellations ORDER BY cancelled_at DESC, kind, number")
    return [_cancellation(row) for row in rows]


def candidates(conn: sqlite3.Connection, number: str) -> list[Candidate]:
    """Every document and payment order issued under `number`, cancelled or not."""
    done = {
        DocumentKind(row[0]): _cancellation(row)
        for row in conn.execute(f"SELECT {_COLUMNS} FROM cancellations WHERE number = ?", (number,))
    }
    found = []
    for kind, day, inn, total, outcome in conn.execute(
        "SELECT d.kind, d.date, d.inn, d.total, f.outcome FROM documents d "
        "JOIN files f ON f.sha256 = d.file_sha256 WHERE d.number = ? "
        "UNION ALL SELECT 'payment_order', o.date, json_extract(o.payload, '$.payee.inn'), o.amount, "
        "f.outcome FROM payment_orders o JOIN files f ON f.sha256 = o.file_sha256 WHERE o.number = ?",
        (number, number),
    ):
        found.append(Candidate(DocumentKind(kind), number, date.fromisoformat(day), inn, Decimal(total),
                               done.pop(DocumentKind(kind), None), outcome == "done",
                               _paid(conn, number) if kind == DocumentKind.INVOICE.value else Decimal("0.00"),
                               _order_of_act(conn, number) if kind == DocumentKind.AGENT_ACT.value else None))
    # a cancelled payment order has left payment_orders (its payout may be paid by a new one)
    found += [Candidate(c.kind, number, c.date, c.inn, c.total, c) for c in done.values()]
    return found


def _paid(conn: sqlite3.Connection, invoice: str) -> Decimal:
    rows = conn.execute("SELECT amount FROM allocations WHERE invoice_number = ?", (invoice,))
    return sum((Decimal(amount) for (amount,) in rows), Decimal("0.00"))


def _order_of_act(conn: sqlite3.Connection, act: str) -> str | None:
    row = conn.execute(
        "SELECT order_number FROM payouts WHERE act_number = ? AND order_number IS NOT NULL", (act,)
    ).fetchone()
    return row[0] if row else None


def cancel(conn: sqlite3.Connection, c: Cancellation) -> Document | PaymentOrder:
    """Record the annulment in the open transaction; a payment order leaves payment_orders and frees its
    payout for a new acceptance. Returns what was cancelled, as it was issued."""
    order = c.kind is DocumentKind.PAYMENT_ORDER
    if order:
        (payload,) = conn.execute(
            "SELECT payload FROM payment_orders WHERE number = ?", (c.number,)
        ).fetchone()
        conn.execute("DELETE FROM payment_orders WHERE number = ?", (c.number,))
        conn.execute("UPDATE payouts SET order_number = NULL WHERE order_number = ?", (c.number,))
    else:
        (payload,) = conn.execute(
            "SELECT payload FROM documents WHERE kind = ? AND number = ?", (c.kind.value, c.number)
        ).fetchone()
    conn.execute(
        f"INSERT INTO cancellations ({_COLUMNS}, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (c.kind.value, c.number, c.date.isoformat(), c.inn, str(c.total), c.reason,
         c.cancelled_at.isoformat(), payload),
    )
    return payment_order_from_json(payload) if order else document_from_json(payload)
