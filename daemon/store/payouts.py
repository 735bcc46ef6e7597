"""The payouts kind's SQL half: agents' cards, contracts and last acts, and the payout registry (shell)."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from daemon.core.documents import DocumentPlan
from daemon.core.sources.payouts import PayoutLedger, PayoutRecord, PayoutTerms
from daemon.store import documents, select_in
from daemon.store.cancellations import live
from daemon.store.codec import document_from_json
from daemon.store.files import Intake, record_committed


def load(conn: sqlite3.Connection, records: Sequence[PayoutRecord], terms: PayoutTerms) -> PayoutLedger:
    """Agents' cards, their contract and last act end (from their latest live act), payouts already issued
    (a cancelled act's payout id may be issued again, and its period again from the last live act)."""
    inns = sorted({r.inn for r in records})
    contracts, last_end, last_number = {}, {}, {}
    for inn, payload in select_in(
        conn,
        f"SELECT inn, payload FROM documents d WHERE kind = 'agent_act' AND {live('d')} AND inn IN ({{}}) "
        "ORDER BY period_end, number",
        inns,
    ):
        act = document_from_json(payload)
        contracts[inn], last_end[inn], last_number[inn] = act.contract, act.period_end, act.number
    payouts = {
        payout_id: documents.issued("agent_act", number, contract, start, fingerprint, total)
        for payout_id, number, contract, start, fingerprint, total in select_in(
            conn,
            "SELECT p.payout_id, d.number, d.contract, d.period_start, d.fingerprint, d.total FROM payouts p "
            f"JOIN documents d ON d.kind = 'agent_act' AND d.number = p.act_number WHERE {live('d')} "
            "AND p.payout_id IN ({})",
            sorted({r.payout_id for r in records}),
        )
    }
    return PayoutLedger(
        documents.counterparties(conn, inns), contracts, last_end, payouts, documents.sequences(conn),
        last_number,
    )


def commit(conn: sqlite3.Connection, plan: DocumentPlan, intake: Intake) -> int:
    """The acts, and each payout id registered with its act (acceptances look payouts up by it); a payout
    whose act was cancelled is registered again with its new act."""
    record_committed(conn, intake, len(plan.documents))
    documents.write_plan(conn, plan, intake.sha256, intake.now.isoformat())
    conn.executemany(
        "INSERT INTO payouts (payout_id, act_number) VALUES (?, ?) ON CONFLICT(payout_id) "
        "DO UPDATE SET act_number = excluded.act_number, order_number = NULL",
        [(d.basis, d.number) for d in plan.documents],
    )
    return len(plan.documents)
