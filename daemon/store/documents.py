"""Counterparties, contracts, issued documents and number sequences, shared by the document kinds (shell)."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal

from daemon.core.documents import Document, DocumentKind, DocumentPlan, IssuedDocument, line_fingerprint
from daemon.core.records import Counterparty
from daemon.store import select_in
from daemon.store.codec import counterparty_from_json, document_from_json, dumps, iso


def counterparties(conn: sqlite3.Connection, inns: Iterable[str]) -> dict[str, Counterparty]:
    rows = select_in(conn, "SELECT inn, card FROM counterparties WHERE inn IN ({})", sorted(set(inns)))
    return {inn: counterparty_from_json(card) for inn, card in rows}


def known_inns(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT inn FROM counterparties")}


def sequences(conn: sqlite3.Connection) -> dict[tuple[DocumentKind, str], int]:
    return {
        (DocumentKind(kind), scope): last
        for kind, scope, last in conn.execute("SELECT kind, scope, last FROM sequences")
    }


def write_sequences(conn: sqlite3.Connection, counters: Mapping[tuple[DocumentKind, str], int]) -> None:
    for (kind, scope), last in counters.items():
        conn.execute(
            "INSERT INTO sequences (kind, scope, last) VALUES (?, ?, ?) "
            "ON CONFLICT(kind, scope) DO UPDATE SET last = excluded.last",
            (kind.value, scope, last),
        )


def issued(kind: str, number: str, contract: str, start: str, fingerprint: str, total: str) -> IssuedDocument:
    """An issued document as a ledger remembers it, from its columns."""
    return IssuedDocument(
        DocumentKind(kind), number, contract, date.fromisoformat(start), fingerprint, Decimal(total)
    )


def write_plan(conn: sqlite3.Connection, plan: DocumentPlan, sha256: str, stamp: str) -> None:
    """The plan's cards, contracts, counters and documents, in the open transaction."""
    for card in plan.counterparties:
        conn.execute(
            "INSERT INTO counterparties (inn, card, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(inn) DO UPDATE SET card = excluded.card, updated_at = excluded.updated_at",
            (card.inn, dumps(card), stamp, stamp),
        )
    for contract in plan.contracts:
        conn.execute(
            "INSERT INTO contracts (number, inn, account, date) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(number, inn) DO UPDATE SET account = excluded.account, "
            "date = COALESCE(excluded.date, contracts.date)",
            (contract.number, contract.counterparty_inn, contract.account, iso(contract.date)),
        )
    write_sequences(conn, plan.sequences)
    for position, doc in enumerate(plan.documents):
        conn.execute(
            "INSERT INTO documents (kind, number, date, inn, contract, period_start, period_end, total, "
            "due_date, fingerprint, file_sha256, position, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc.kind.value, doc.number, doc.date.isoformat(), doc.counterparty.inn, doc.contract.number,
                doc.period_start.isoformat(), doc.period_end.isoformat(), str(doc.total), iso(doc.due_date),
                line_fingerprint(doc.lines), sha256, position, dumps(doc),
            ),
        )


def documents_of_file(conn: sqlite3.Connection, sha256: str) -> Iterator[Document]:
    """The file's documents in plan order, read as they are consumed (a month need not fit in memory)."""
    rows = conn.execute("SELECT payload FROM documents WHERE file_sha256 = ? ORDER BY position", (sha256,))
    return (document_from_json(payload) for (payload,) in rows)


def document(conn: sqlite3.Connection, kind: DocumentKind, number: str) -> Document | None:
    row = conn.execute(
        "SELECT payload FROM documents WHERE kind = ? AND number = ?", (kind.value, number)
    ).fetchone()
    return document_from_json(row[0]) if row else None


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many documents of each kind were issued, payment orders included."""
    rows = conn.execute(
        "SELECT kind, COUNT(*) FROM documents GROUP BY kind "
        "UNION ALL SELECT 'payment_order', COUNT(*) FROM payment_orders"
    ).fetchall()
    return {kind: count for kind, count in rows if count}
