"""The bank kind's SQL half: invoices with what is paid on them, payments seen, and the matches (shell)."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from decimal import Decimal

from daemon.core.bankstatement import StatementDocument, incoming_payments
from daemon.core.sources.bank import ZERO, BankLedger, BankRules, PaymentPlan
from daemon.store import select_in
from daemon.store.documents import known_inns
from daemon.store.files import Intake, record_committed
from daemon.store.invoices import invoices_with_payments


def load(conn: sqlite3.Connection, records: Sequence[StatementDocument], rules: BankRules) -> BankLedger:
    keys = sorted({p.key for p in incoming_payments(records, rules.own_accounts)})
    seen = {row[0] for row in select_in(conn, "SELECT key FROM payments WHERE key IN ({})", keys)}
    return BankLedger(invoices_with_payments(conn), seen, known_inns(conn))


def commit(conn: sqlite3.Connection, plan: PaymentPlan, intake: Intake) -> int:
    """New payments, their allocations to invoices, and what is left over as payers' balances."""
    result = plan.result
    record_committed(conn, intake, 0)
    duplicate = {p.key for p in result.duplicates}
    unmatched = {p.key for p in result.unmatched}
    conn.executemany(
        "INSERT INTO payments (key, number, date, amount, payer_inn, payer_name, purpose, matched, "
        "file_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (p.key, p.number, p.date.isoformat(), str(p.amount), p.payer_inn, p.payer_name, p.purpose,
             int(p.key not in unmatched), intake.sha256)
            for p in plan.payments
            if p.key not in duplicate
        ],
    )
    conn.executemany(
        "INSERT INTO allocations (payment_key, invoice_number, amount, rule, explanation) "
        "VALUES (?, ?, ?, ?, ?)",
        [(a.payment_key, a.invoice_number, str(a.amount), a.rule, a.explanation) for a in result.allocations],
    )
    for inn, amount in result.balances.items():
        row = conn.execute("SELECT amount FROM balances WHERE inn = ?", (inn,)).fetchone()
        total = amount + (Decimal(row[0]) if row else ZERO)
        conn.execute("INSERT OR REPLACE INTO balances (inn, amount) VALUES (?, ?)", (inn, str(total)))
    return 0
