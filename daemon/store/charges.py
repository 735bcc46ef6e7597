"""The charges kind's SQL half: the ledger a charges plan needs, and its commit (shell)."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from daemon.core.documents import DocumentPlan, IssueRules
from daemon.core.records import ChargeRecord
from daemon.core.sources.charges import Ledger
from daemon.store import documents, select_in
from daemon.store.files import Intake, record_committed


def load(conn: sqlite3.Connection, records: Sequence[ChargeRecord], rules: IssueRules) -> Ledger:
    """The file's known counterparties, what was issued on its contracts, and the number counters."""
    issued = {}
    for kind, number, contract, inn, start, fingerprint, total in select_in(
        conn,
        "SELECT kind, number, contract, inn, period_start, fingerprint, total FROM documents "
        "WHERE contract IN ({})",
        sorted({r.contract for r in records}),
    ):
        doc = documents.issued(kind, number, contract, start, fingerprint, total)
        issued[(doc.kind, contract, inn, doc.period_start)] = doc
    return Ledger(documents.counterparties(conn, (r.inn for r in records)), issued, documents.sequences(conn))


def commit(conn: sqlite3.Connection, plan: DocumentPlan, intake: Intake) -> int:
    record_committed(conn, intake, len(plan.documents))
    documents.write_plan(conn, plan, intake.sha256, intake.now.isoformat())
    return len(plan.documents)
