"""The charges kind's SQL half: the ledger a charges plan needs, and its commit (shell)."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date

from daemon.core.documents import DocumentPlan, IssueRules
from daemon.core.records import ChargeRecord
from daemon.core.sources.charges import Ledger
from daemon.store import documents, select_in
from daemon.store.files import Intake, record_committed


def load(conn: sqlite3.Connection, records: Sequence[ChargeRecord], rules: IssueRules) -> Ledger:
    """The file's known counterparties, what was issued on its contracts, their dates, and the counters."""
    numbers = sorted({r.contract for r in records})
    issued = {}
    for kind, number, contract, inn, start, fingerprint, total in select_in(
        conn,
        "SELECT kind, number, contract, inn, period_start, fingerprint, total FROM documents "
        "WHERE contract IN ({})",
        numbers,
    ):
        doc = documents.issued(kind, number, contract, start, fingerprint, total)
        issued[(doc.kind, contract, inn, doc.period_start)] = doc
    dates = {
        (number, inn): date.fromisoformat(day)
        for number, inn, day in select_in(
            conn, "SELECT number, inn, date FROM contracts WHERE date IS NOT NULL AND number IN ({})", numbers
        )
    }
    return Ledger(
        documents.counterparties(conn, (r.inn for r in records)), issued, documents.sequences(conn), dates
    )


def commit(conn: sqlite3.Connection, plan: DocumentPlan, intake: Intake) -> int:
    record_committed(conn, intake, len(plan.documents))
    documents.write_plan(conn, plan, intake.sha256, intake.now.isoformat())
    for doc in plan.documents:   # a period issued after all is no longer a zero one
        conn.execute("DELETE FROM zero_totals WHERE contract = ? AND inn = ? AND period_start = ?",
                     (doc.contract.number, doc.counterparty.inn, doc.period_start.isoformat()))
    conn.executemany(
        "INSERT OR IGNORE INTO zero_totals (contract, inn, client, period_start, file_sha256) "
        "VALUES (?, ?, ?, ?, ?)",
        [(z.contract, z.inn, z.client_name, z.period_start.isoformat(), intake.sha256)
         for z in plan.zero_totals],
    )
    return len(plan.documents)


def zero_totals(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    """(contract, ИНН, client, period start) of each contract left without documents because its period
    summed to 0, by period and contract."""
    return conn.execute(
        "SELECT contract, inn, client, period_start FROM zero_totals ORDER BY period_start, contract"
    ).fetchall()
