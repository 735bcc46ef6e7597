"""SQLite state: files seen, counterparties, contracts, documents, number sequences, mail queue (shell).

One file's changes are committed in one transaction (`BEGIN IMMEDIATE` from reading the ledger to
the commit), so numbers stay gapless and a crash leaves either all of a file or none of it.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from daemon.core.documents import (
    Document,
    DocumentKind,
    DocumentLine,
    DocumentPlan,
    IssuedDocument,
    Ledger,
    line_fingerprint,
)
from daemon.core.bankstatement import Payment
from daemon.core.money import VatRate
from daemon.core.payments import ZERO, MatchResult, OpenInvoice
from daemon.core.payouts import IssuedPayout, OrderPlan, PaymentOrder, PayoutLedger
from daemon.core.records import BankAccount, Contract, Counterparty, LegalForm
from daemon.core.reminders import InvoiceDue

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    sha256 TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    outcome TEXT NOT NULL,          -- committed | done | quarantined
    rows INTEGER NOT NULL DEFAULT 0,
    documents INTEGER NOT NULL DEFAULT 0,
    committed_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS counterparties (
    inn TEXT PRIMARY KEY,
    card TEXT NOT NULL,             -- JSON of Counterparty
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS contracts (
    number TEXT NOT NULL,
    inn TEXT NOT NULL,
    account TEXT NOT NULL,
    date TEXT,
    PRIMARY KEY (number, inn)
);
CREATE TABLE IF NOT EXISTS sequences (
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (kind, scope)
);
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    date TEXT NOT NULL,
    inn TEXT NOT NULL,
    contract TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    total TEXT NOT NULL,
    due_date TEXT,
    fingerprint TEXT NOT NULL,
    file_sha256 TEXT NOT NULL REFERENCES files(sha256),
    position INTEGER NOT NULL,      -- order within its file
    payload TEXT NOT NULL,          -- JSON of Document: outputs are re-rendered from it after a crash
    PRIMARY KEY (kind, number)
);
CREATE INDEX IF NOT EXISTS documents_by_contract ON documents(contract, inn, kind, period_start);
CREATE TABLE IF NOT EXISTS payments (
    key TEXT PRIMARY KEY,           -- number|date|our account|amount|payer account
    number TEXT NOT NULL,
    date TEXT NOT NULL,
    amount TEXT NOT NULL,
    payer_inn TEXT NOT NULL,
    payer_name TEXT NOT NULL,
    purpose TEXT NOT NULL,
    matched INTEGER NOT NULL,       -- 0: no invoice and unknown payer (reported)
    file_sha256 TEXT NOT NULL REFERENCES files(sha256)
);
CREATE TABLE IF NOT EXISTS allocations (
    payment_key TEXT NOT NULL REFERENCES payments(key),
    invoice_number TEXT NOT NULL,
    amount TEXT NOT NULL,
    rule TEXT NOT NULL,
    explanation TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS allocations_by_invoice ON allocations(invoice_number);
CREATE TABLE IF NOT EXISTS balances (
    inn TEXT PRIMARY KEY,
    amount TEXT NOT NULL            -- overpayments kept for the counterparty
);
CREATE TABLE IF NOT EXISTS reminders (
    invoice_number TEXT NOT NULL,
    level INTEGER NOT NULL,
    sent_on TEXT NOT NULL,
    PRIMARY KEY (invoice_number, level)
);
CREATE TABLE IF NOT EXISTS payouts (
    payout_id TEXT PRIMARY KEY,
    act_number TEXT NOT NULL,       -- documents(kind 'agent_act', number)
    order_number TEXT               -- payment_orders(number), once the agent accepted the act
);
CREATE TABLE IF NOT EXISTS payment_orders (
    number TEXT PRIMARY KEY,
    payout_id TEXT NOT NULL UNIQUE REFERENCES payouts(payout_id),
    date TEXT NOT NULL,
    amount TEXT NOT NULL,
    file_sha256 TEXT NOT NULL REFERENCES files(sha256),
    position INTEGER NOT NULL,
    payload TEXT NOT NULL           -- JSON of PaymentOrder, re-rendered from after a crash
);
CREATE TABLE IF NOT EXISTS mail_jobs (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipients TEXT NOT NULL,       -- JSON list
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    attachments TEXT NOT NULL,      -- JSON list of workspace-relative paths
    status TEXT NOT NULL DEFAULT 'queued',   -- queued | sent | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    message_id TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
"""


@dataclass(frozen=True)
class MailJob:
    """A mail to send after the commit; `dedupe_key` makes enqueueing it twice a no-op."""

    dedupe_key: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    attachments: tuple[str, ...]
    message_id: str


@dataclass(frozen=True)
class QueuedMail:
    id: int
    job: MailJob
    attempts: int


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__}")


def _dumps(value: object) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, sort_keys=True)


def counterparty_from_dict(data: dict) -> Counterparty:
    bank = data.get("bank")
    return Counterparty(
        **{**data, "legal_form": LegalForm(data["legal_form"]), "bank": BankAccount(**bank) if bank else None}
    )


def _vat_rate(data: dict) -> VatRate:
    return VatRate(None if data["percent"] is None else Decimal(data["percent"]))


def _contract(data: dict) -> Contract:
    return Contract(**{**data, "date": _date(data["date"])})


def payment_order_from_dict(data: dict) -> PaymentOrder:
    return PaymentOrder(**{
        **data,
        "date": date.fromisoformat(data["date"]),
        "act_date": date.fromisoformat(data["act_date"]),
        "amount": Decimal(data["amount"]),
        "vat": Decimal(data["vat"]),
        "vat_rate": _vat_rate(data["vat_rate"]),
        "payee": counterparty_from_dict(data["payee"]),
        "contract": _contract(data["contract"]),
    })


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def document_from_dict(data: dict) -> Document:
    lines = tuple(
        DocumentLine(
            **{
                **line,
                "quantity": Decimal(line["quantity"]),
                "price": Decimal(line["price"]),
                "net": Decimal(line["net"]),
                "vat": Decimal(line["vat"]),
                "gross": Decimal(line["gross"]),
                "vat_rate": _vat_rate(line["vat_rate"]),
            }
        )
        for line in data["lines"]
    )
    return Document(
        **{
            **data,
            "kind": DocumentKind(data["kind"]),
            "date": date.fromisoformat(data["date"]),
            "period_start": date.fromisoformat(data["period_start"]),
            "period_end": date.fromisoformat(data["period_end"]),
            "due_date": _date(data["due_date"]),
            "counterparty": counterparty_from_dict(data["counterparty"]),
            "contract": _contract(data["contract"]),
            "lines": lines,
        }
    )


class Store:
    """The workspace's state.sqlite."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT; rolled back on any exception."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # files -----------------------------------------------------------------------------------
    def file_outcome(self, sha256: str) -> str | None:
        row = self._conn.execute("SELECT outcome FROM files WHERE sha256 = ?", (sha256,)).fetchone()
        return row[0] if row else None

    def file_committed_at(self, sha256: str) -> datetime:
        row = self._conn.execute("SELECT committed_at FROM files WHERE sha256 = ?", (sha256,)).fetchone()
        return datetime.fromisoformat(row[0])

    def finish_file(self, sha256: str, outcome: str, now: datetime) -> None:
        self._conn.execute(
            "UPDATE files SET outcome = ?, finished_at = ? WHERE sha256 = ?", (outcome, now.isoformat(), sha256)
        )

    def record_quarantined(self, sha256: str, source: str, name: str, rows: int, now: datetime) -> None:
        """A rejected file is remembered only for status; dropping it again (fixed or not) retries."""
        self._conn.execute(
            "INSERT OR REPLACE INTO files (sha256, source, name, outcome, rows, committed_at, finished_at) "
            "VALUES (?, ?, ?, 'quarantined', ?, ?, ?)",
            (sha256, source, name, rows, now.isoformat(), now.isoformat()),
        )

    # ledger ----------------------------------------------------------------------------------
    def load_ledger(self, conn: sqlite3.Connection, inns: Iterable[str], contracts: Iterable[str]) -> Ledger:
        inns, contracts = sorted(set(inns)), sorted(set(contracts))
        cards = {
            inn: counterparty_from_dict(json.loads(card))
            for inn, card in _select_in(conn, "SELECT inn, card FROM counterparties WHERE inn IN ({})", inns)
        }
        issued = {}
        for kind, number, contract, inn, start, fingerprint, total in _select_in(
            conn,
            "SELECT kind, number, contract, inn, period_start, fingerprint, total FROM documents WHERE contract IN ({})",
            contracts,
        ):
            doc = IssuedDocument(
                DocumentKind(kind), number, contract, date.fromisoformat(start), fingerprint, Decimal(total)
            )
            issued[(doc.kind, contract, inn, doc.period_start)] = doc
        return Ledger(counterparties=cards, issued=issued, sequences=self.sequences(conn))

    @staticmethod
    def sequences(conn: sqlite3.Connection) -> dict[tuple[DocumentKind, str], int]:
        return {
            (DocumentKind(kind), scope): last
            for kind, scope, last in conn.execute("SELECT kind, scope, last FROM sequences")
        }

    def commit_plan(
        self,
        conn: sqlite3.Connection,
        plan: DocumentPlan,
        *,
        sha256: str,
        source: str,
        name: str,
        rows: int,
        now: datetime,
        mails: Sequence[MailJob],
    ) -> None:
        stamp = now.isoformat()
        _record_committed(conn, sha256, source, name, rows, len(plan.documents), stamp)
        for card in plan.counterparties:
            conn.execute(
                "INSERT INTO counterparties (inn, card, created_at, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(inn) DO UPDATE SET card = excluded.card, updated_at = excluded.updated_at",
                (card.inn, _dumps(asdict(card)), stamp, stamp),
            )
        for contract in plan.contracts:
            conn.execute(
                "INSERT INTO contracts (number, inn, account, date) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(number, inn) DO UPDATE SET account = excluded.account",
                (contract.number, contract.counterparty_inn, contract.account, _date_text(contract.date)),
            )
        _write_sequences(conn, plan.sequences)
        for position, doc in enumerate(plan.documents):
            conn.execute(
                "INSERT INTO documents (kind, number, date, inn, contract, period_start, period_end, total, "
                "due_date, fingerprint, file_sha256, position, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    doc.kind.value, doc.number, doc.date.isoformat(), doc.counterparty.inn, doc.contract.number,
                    doc.period_start.isoformat(), doc.period_end.isoformat(), str(doc.total),
                    _date_text(doc.due_date), line_fingerprint(doc.lines), sha256, position,
                    _dumps(asdict(doc)),
                ),
            )
            if doc.kind is DocumentKind.AGENT_ACT:
                conn.execute("INSERT INTO payouts (payout_id, act_number) VALUES (?, ?)", (doc.basis, doc.number))
        for job in mails:
            self._enqueue(conn, job, now)

    # payouts ---------------------------------------------------------------------------------
    def load_payout_ledger(self, conn: sqlite3.Connection, inns: Iterable[str], payout_ids: Iterable[str]) -> PayoutLedger:
        """Agents' cards, their contract and last act end (from their latest act), payouts already issued."""
        inns = sorted(set(inns))
        cards = {
            inn: counterparty_from_dict(json.loads(card))
            for inn, card in _select_in(conn, "SELECT inn, card FROM counterparties WHERE inn IN ({})", inns)
        }
        contracts, last_end = {}, {}
        for inn, payload in _select_in(
            conn,
            "SELECT inn, payload FROM documents WHERE kind = 'agent_act' AND inn IN ({}) ORDER BY period_end, number",
            inns,
        ):
            act = document_from_dict(json.loads(payload))
            contracts[inn], last_end[inn] = act.contract, act.period_end
        payouts = {
            payout_id: IssuedDocument(DocumentKind.AGENT_ACT, number, contract, date.fromisoformat(start),
                                      fingerprint, Decimal(total))
            for payout_id, number, contract, start, fingerprint, total in _select_in(
                conn,
                "SELECT p.payout_id, d.number, d.contract, d.period_start, d.fingerprint, d.total FROM payouts p "
                "JOIN documents d ON d.kind = 'agent_act' AND d.number = p.act_number WHERE p.payout_id IN ({})",
                sorted(set(payout_ids)),
            )
        }
        return PayoutLedger(cards, contracts, last_end, payouts, self.sequences(conn))

    def issued_payouts(self, conn: sqlite3.Connection, payout_ids: Iterable[str]) -> dict[str, IssuedPayout]:
        return {
            payout_id: IssuedPayout(document_from_dict(json.loads(payload)), order_number)
            for payout_id, order_number, payload in _select_in(
                conn,
                "SELECT p.payout_id, p.order_number, d.payload FROM payouts p "
                "JOIN documents d ON d.kind = 'agent_act' AND d.number = p.act_number WHERE p.payout_id IN ({})",
                sorted(set(payout_ids)),
            )
        }

    def commit_orders(
        self, conn: sqlite3.Connection, plan: OrderPlan, *, sha256: str, source: str, name: str, rows: int,
        now: datetime,
    ) -> None:
        _record_committed(conn, sha256, source, name, rows, len(plan.orders), now.isoformat())
        _write_sequences(conn, plan.sequences)
        for position, order in enumerate(plan.orders):
            conn.execute(
                "INSERT INTO payment_orders (number, payout_id, date, amount, file_sha256, position, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (order.number, order.payout_id, order.date.isoformat(), str(order.amount), sha256, position,
                 _dumps(asdict(order))),
            )
            conn.execute("UPDATE payouts SET order_number = ? WHERE payout_id = ?", (order.number, order.payout_id))

    def orders_of_file(self, sha256: str) -> list[PaymentOrder]:
        rows = self._conn.execute("SELECT payload FROM payment_orders WHERE file_sha256 = ? ORDER BY position", (sha256,))
        return [payment_order_from_dict(json.loads(payload)) for (payload,) in rows]

    # payments --------------------------------------------------------------------------------
    def seen_payment_keys(self, conn: sqlite3.Connection, keys: Iterable[str]) -> set[str]:
        return {row[0] for row in _select_in(conn, "SELECT key FROM payments WHERE key IN ({})", sorted(set(keys)))}

    def invoices_with_payments(self, conn: sqlite3.Connection) -> list[OpenInvoice]:
        """Every invoice with what has been paid on it so far (summed in Decimal, not SQLite floats)."""
        paid: dict[str, Decimal] = {}
        for number, amount in conn.execute("SELECT invoice_number, amount FROM allocations"):
            paid[number] = paid.get(number, ZERO) + Decimal(amount)
        rows = conn.execute("SELECT number, inn, date, total FROM documents WHERE kind = 'invoice' ORDER BY date, number")
        return [
            OpenInvoice(number, inn, date.fromisoformat(when), Decimal(total), paid.get(number, ZERO))
            for number, inn, when, total in rows
        ]

    def known_inns(self, conn: sqlite3.Connection) -> set[str]:
        return {row[0] for row in conn.execute("SELECT inn FROM counterparties")}

    def commit_payments(
        self, conn: sqlite3.Connection, result: MatchResult, payments: Sequence[Payment], *,
        sha256: str, source: str, name: str, now: datetime,
    ) -> None:
        _record_committed(conn, sha256, source, name, len(payments), 0, now.isoformat())
        duplicate = {p.key for p in result.duplicates}
        unmatched = {p.key for p in result.unmatched}
        for p in payments:
            if p.key not in duplicate:
                conn.execute(
                    "INSERT INTO payments (key, number, date, amount, payer_inn, payer_name, purpose, matched, "
                    "file_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (p.key, p.number, p.date.isoformat(), str(p.amount), p.payer_inn, p.payer_name, p.purpose,
                     int(p.key not in unmatched), sha256),
                )
        for a in result.allocations:
            conn.execute(
                "INSERT INTO allocations (payment_key, invoice_number, amount, rule, explanation) VALUES (?, ?, ?, ?, ?)",
                (a.payment_key, a.invoice_number, str(a.amount), a.rule, a.explanation),
            )
        for inn, amount in result.balances.items():
            row = conn.execute("SELECT amount FROM balances WHERE inn = ?", (inn,)).fetchone()
            total = amount + (Decimal(row[0]) if row else ZERO)
            conn.execute("INSERT OR REPLACE INTO balances (inn, amount) VALUES (?, ?)", (inn, str(total)))

    def invoices_due(self, conn: sqlite3.Connection) -> list[InvoiceDue]:
        """Invoices with a due date, their client's e-mail and manager, and what is paid."""
        paid = {inv.number: inv.paid for inv in self.invoices_with_payments(conn)}
        rows = conn.execute(
            "SELECT d.number, d.inn, d.date, d.due_date, d.total, c.card, f.committed_at FROM documents d "
            "JOIN counterparties c ON c.inn = d.inn JOIN files f ON f.sha256 = d.file_sha256 "
            "WHERE d.kind = 'invoice' AND d.due_date IS NOT NULL ORDER BY d.due_date, d.number"
        )
        result = []
        for number, inn, when, due, total, card, committed_at in rows:
            party = counterparty_from_dict(json.loads(card))
            result.append(InvoiceDue(number, inn, party.name, party.email, party.manager_email, date.fromisoformat(when),
                                     date.fromisoformat(due), Decimal(total), paid.get(number, ZERO),
                                     datetime.fromisoformat(committed_at).date()))
        return result

    def reminders_sent(self, conn: sqlite3.Connection) -> set[tuple[str, int]]:
        return {(number, level) for number, level in conn.execute("SELECT invoice_number, level FROM reminders")}

    def record_reminders(self, conn: sqlite3.Connection, levels: Iterable[tuple[str, int]], today: date) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO reminders (invoice_number, level, sent_on) VALUES (?, ?, ?)",
            [(number, level, today.isoformat()) for number, level in levels],
        )

    def enqueue_mails(self, conn: sqlite3.Connection, jobs: Iterable[MailJob], now: datetime) -> None:
        for job in jobs:
            self._enqueue(conn, job, now)

    def document(self, kind: str, number: str) -> Document | None:
        row = self._conn.execute("SELECT payload FROM documents WHERE kind = ? AND number = ?", (kind, number)).fetchone()
        return document_from_dict(json.loads(row[0])) if row else None

    def file_counts(self) -> dict[str, int]:
        return dict(self._conn.execute("SELECT outcome, COUNT(*) FROM files GROUP BY outcome").fetchall())

    def balances(self) -> dict[str, Decimal]:
        return {inn: Decimal(amount) for inn, amount in self._conn.execute("SELECT inn, amount FROM balances")}

    def unmatched_payments(self) -> list[tuple[str, str, str, str, str]]:
        return self._conn.execute(
            "SELECT number, date, amount, payer_inn, payer_name FROM payments WHERE matched = 0 ORDER BY date"
        ).fetchall()

    def documents_of_file(self, sha256: str) -> Iterator[Document]:
        """The file's documents in plan order, read as they are consumed (a month need not fit in memory)."""
        rows = self._conn.execute(
            "SELECT payload FROM documents WHERE file_sha256 = ? ORDER BY position", (sha256,)
        )
        return (document_from_dict(json.loads(payload)) for (payload,) in rows)

    # mail queue ------------------------------------------------------------------------------
    def enqueue_mail(self, job: MailJob, now: datetime) -> None:
        self._enqueue(self._conn, job, now)

    @staticmethod
    def _enqueue(conn: sqlite3.Connection, job: MailJob, now: datetime) -> None:
        conn.execute(
            "INSERT INTO mail_jobs (dedupe_key, recipients, subject, body, attachments, next_attempt_at, "
            "message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING",
            (
                job.dedupe_key, json.dumps(job.recipients, ensure_ascii=False), job.subject, job.body,
                json.dumps(job.attachments, ensure_ascii=False), now.isoformat(), job.message_id,
                now.isoformat(),
            ),
        )

    def due_mail(self, now: datetime) -> list[QueuedMail]:
        rows = self._conn.execute(
            "SELECT id, dedupe_key, recipients, subject, body, attachments, message_id, attempts FROM mail_jobs "
            "WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY id",
            (now.isoformat(),),
        )
        return [
            QueuedMail(
                id=row[0],
                job=MailJob(row[1], tuple(json.loads(row[2])), row[3], row[4], tuple(json.loads(row[5])), row[6]),
                attempts=row[7],
            )
            for row in rows
        ]

    def mark_mail_sent(self, job_id: int, now: datetime) -> None:
        self._conn.execute(
            "UPDATE mail_jobs SET status = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?",
            (now.isoformat(), job_id),
        )

    def mark_mail_failed(self, job_id: int, error: str, retry_at: datetime | None) -> None:
        """A temporary failure waits until `retry_at`; None gives up (status failed)."""
        self._conn.execute(
            "UPDATE mail_jobs SET attempts = attempts + 1, last_error = ?, status = ?, "
            "next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
            (error, "queued" if retry_at else "failed", retry_at.isoformat() if retry_at else None, job_id),
        )

    def mail_counts(self) -> dict[str, int]:
        return dict(self._conn.execute("SELECT status, COUNT(*) FROM mail_jobs GROUP BY status").fetchall())


def _record_committed(
    conn: sqlite3.Connection, sha256: str, source: str, name: str, rows: int, documents: int, stamp: str
) -> None:
    conn.execute(
        "INSERT INTO files (sha256, source, name, outcome, rows, documents, committed_at) "
        "VALUES (?, ?, ?, 'committed', ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET outcome='committed', "
        "source=excluded.source, name=excluded.name, rows=excluded.rows, documents=excluded.documents, "
        "committed_at=excluded.committed_at, finished_at=NULL",
        (sha256, source, name, rows, documents, stamp),
    )


def _write_sequences(conn: sqlite3.Connection, sequences: Mapping[tuple[DocumentKind, str], int]) -> None:
    for (kind, scope), last in sequences.items():
        conn.execute(
            "INSERT INTO sequences (kind, scope, last) VALUES (?, ?, ?) "
            "ON CONFLICT(kind, scope) DO UPDATE SET last = excluded.last",
            (kind.value, scope, last),
        )


def _date_text(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _select_in(conn: sqlite3.Connection, sql: str, keys: list[str]) -> list[tuple]:
    """`sql` with `IN ({})` over `keys`, in chunks under SQLite's variable limit."""
    rows: list[tuple] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows.extend(conn.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall())
    return rows
