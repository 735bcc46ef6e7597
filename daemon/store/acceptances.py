"""The acceptances kind's SQL half: the payouts accepted acts refer to, and the payment orders (shell)."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from daemon.core.documents import IssueRules
from daemon.core.sources.acceptances import Acceptance, IssuedPayout, OrderPlan, PaymentOrder
from daemon.store import select_in
from daemon.store.cancellations import live
from daemon.store.codec import document_from_json, dumps, payment_order_from_json
from daemon.store.documents import sequences, write_sequences
from daemon.store.files import Intake, record_committed


@dataclass(frozen=True)
class OrderLedger:
    payouts: dict[str, IssuedPayout]
    sequences: dict


def load(conn: sqlite3.Connection, records: Sequence[Acceptance], rules: IssueRules) -> OrderLedger:
    payouts = {
        payout_id: IssuedPayout(document_from_json(payload), order_number)
        for payout_id, order_number, payload in select_in(
            conn,
            "SELECT p.payout_id, p.order_number, d.payload FROM payouts p "
            f"JOIN documents d ON d.kind = 'agent_act' AND d.number = p.act_number WHERE {live('d')} "
            "AND p.payout_id IN ({})",
            sorted({r.payout_id for r in records}),
        )
    }
    return OrderLedger(payouts, sequences(conn))


def commit(conn: sqlite3.Connection, plan: OrderPlan, intake: Intake) -> int:
    record_committed(conn, intake, len(plan.orders))
    write_sequences(conn, plan.sequences)
    for position, order in enumerate(plan.orders):
        conn.execute(
            "INSERT INTO payment_orders (number, payout_id, date, amount, file_sha256, position, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (order.number, order.payout_id, order.date.isoformat(), str(order.amount), intake.sha256,
             position, dumps(order)),
        )
        conn.execute(
            "UPDATE payouts SET order_number = ? WHERE payout_id = ?", (order.number, order.payout_id)
        )
    return len(plan.orders)


def orders_of_file(conn: sqlite3.Connection, sha256: str) -> list[PaymentOrder]:
    rows = conn.execute(
        "SELECT payload FROM payment_orders WHERE file_sha256 = ? ORDER BY position", (sha256,)
    )
    return [payment_order_from_json(payload) for (payload,) in rows]
