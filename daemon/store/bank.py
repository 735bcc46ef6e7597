"""The bank kind's SQL half: invoices with what is paid on them, payments seen, and the matches (shell)."""
from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from daemon.core.bankstatement import Payment, StatementDocument, incoming_payments
from daemon.core.rematch import Balance, Rematch, RematchLedger
from daemon.core.sources.bank import ZERO, Allocation, BankLedger, BankRules, PaymentPlan
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
    _write_matches(conn, result.allocations, result.balances)
    return 0


_PAYMENT_COLUMNS = "key, number, date, amount, payer_inn, payer_name, purpose"


def _payment(key: str, number: str, when: str, amount: str, inn: str, name: str, purpose: str) -> Payment:
    # the key is number|date|our account|amount|payer account: our account is its third part
    account = key.split("|")[2]
    return Payment(key, number, date.fromisoformat(when), Decimal(amount), inn, name, purpose, account)


def rematch_ledger(conn: sqlite3.Connection) -> RematchLedger:
    """Payments still unmatched and payers' balances (with the payer's latest payment), and what they
    may pay: every invoice with what is paid on it; no invoices are read when there is nothing to match."""
    unmatched = [_payment(*row) for row in conn.execute(
        f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE matched = 0 ORDER BY date, number")]
    balances = []
    for inn, amount in conn.execute("SELECT inn, amount FROM balances ORDER BY inn").fetchall():
        latest = conn.execute(f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE payer_inn = ? "
                              "ORDER BY date DESC, number DESC LIMIT 1", (inn,)).fetchone()
        if latest is not None and Decimal(amount) > 0:
            balances.append(Balance(inn, Decimal(amount), _payment(*latest)))
    if not unmatched and not balances:
        return RematchLedger((), (), (), ())
    return RematchLedger(unmatched, balances, invoices_with_payments(conn), known_inns(conn))


def commit_rematch(conn: sqlite3.Connection, rematch: Rematch) -> None:
    """The new allocations, the payments no longer unmatched, the balances changed."""
    conn.executemany("UPDATE payments SET matched = 1 WHERE key = ?", [(p.key,) for p in rematch.matched])
    _write_matches(conn, rematch.allocations, rematch.balances)


def _write_matches(conn: sqlite3.Connection, allocations: Sequence[Allocation],
                   balances: Mapping[str, Decimal]) -> None:
    conn.executemany(
        "INSERT INTO allocations (payment_key, invoice_number, amount, rule, explanation) "
        "VALUES (?, ?, ?, ?, ?)",
        [(a.payment_key, a.invoice_number, str(a.amount), a.rule, a.explanation) for a in allocations],
    )
    for inn, change in balances.items():
        row = conn.execute("SELECT amount FROM balances WHERE inn = ?", (inn,)).fetchone()
        total = change + (Decimal(row[0]) if row else ZERO)
        if total:
            conn.execute("INSERT OR REPLACE INTO balances (inn, amount) VALUES (?, ?)", (inn, str(total)))
        else:
            conn.execute("DELETE FROM balances WHERE inn = ?", (inn,))
