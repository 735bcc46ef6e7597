"""SQLite state of a workspace: the connection, the tables and one transaction per file (shell).

Each concern has its module, every function taking the connection: `files` (files seen, retries),
`documents` (counterparties, contracts, documents, number sequences), one module per source kind
(load the ledger its plan needs, commit its plan), `invoices` (payments, reminders) and `mail` (the
queue, clients without an address). A file's changes are one `BEGIN IMMEDIATE` transaction from
reading the ledger to the commit, so numbers stay gapless and a crash leaves either all of a file or
none of it. The store remembers which file it opened: one deleted or replaced under it (another inode)
is `StoreLostError`, never a new database whose numbering starts over.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    sha256 TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    outcome TEXT NOT NULL,          -- committed | done | quarantined
    rows INTEGER NOT NULL DEFAULT 0,
    documents INTEGER NOT NULL DEFAULT 0,
    committed_at TEXT NOT NULL,
    finished_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,   -- failed attempts to write a committed file's outputs
    last_error TEXT,
    retry_at TEXT,
    alerted INTEGER NOT NULL DEFAULT 0     -- the operator was told the outputs keep failing
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
CREATE INDEX IF NOT EXISTS documents_by_file ON documents(file_sha256, position);
CREATE TABLE IF NOT EXISTS zero_totals (  -- contracts whose period summed to 0: no documents issued
    contract TEXT NOT NULL,
    inn TEXT NOT NULL,
    client TEXT NOT NULL,
    period_start TEXT NOT NULL,
    file_sha256 TEXT NOT NULL REFERENCES files(sha256),
    PRIMARY KEY (contract, inn, period_start)
);
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
CREATE TABLE IF NOT EXISTS cancellations (
    kind TEXT NOT NULL,             -- a document kind or 'payment_order'; its number is never reused
    number TEXT NOT NULL,
    date TEXT NOT NULL,             -- the document's date
    inn TEXT NOT NULL,
    total TEXT NOT NULL,
    reason TEXT NOT NULL,
    cancelled_at TEXT NOT NULL,
    payload TEXT NOT NULL,          -- JSON of the document or order as it was issued
    PRIMARY KEY (kind, number)
);
CREATE TABLE IF NOT EXISTS mail_jobs (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipients TEXT NOT NULL,       -- JSON list
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    attachments TEXT NOT NULL,      -- JSON list of workspace-relative paths
    status TEXT NOT NULL DEFAULT 'queued',   -- queued | sent (SMTP) | written (.eml only) | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,  -- UTC, as created_at and sent_at
    message_id TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE TABLE IF NOT EXISTS mail_unaddressed (
    key TEXT PRIMARY KEY,           -- the dedupe_key the client's mail would have had
    inn TEXT NOT NULL,
    client TEXT NOT NULL,
    period_start TEXT NOT NULL,
    documents TEXT NOT NULL,        -- JSON list of [kind, number] not mailed for want of an address
    recorded_at TEXT NOT NULL
);
"""
# Columns added after the first release: a workspace made by an older billdrop gets them on open.
ADDED_COLUMNS = {
    "files": {
        "attempts": "INTEGER NOT NULL DEFAULT 0",
        "last_error": "TEXT",
        "retry_at": "TEXT",
        "alerted": "INTEGER NOT NULL DEFAULT 0",
    },
}


class StoreLostError(Exception):
    """state.sqlite is gone or is another file than the one the documents were numbered in."""


class Store:
    """The workspace's state.sqlite: `conn` for reads, `transaction()` for every change."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self._identity: tuple[int, int] | None = None
        if readonly:  # `billdrop check`: reads the ledger, can change nothing
            self.conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
            return
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.executescript(SCHEMA)
        _add_missing_columns(self.conn)
        if path != Path(":memory:"):
            self._identity = _identity(path)

    def close(self) -> None:
        self.conn.close()

    def verify(self) -> None:
        """Raise `StoreLostError` when the file at `path` is no longer the one opened (a cheap stat)."""
        if self._identity is not None and _identity(self.path) != self._identity:
            raise StoreLostError(
                f"база {self.path} удалена или подменена во время работы: billdrop остановлен, чтобы "
                "нумерация документов не началась заново; верните базу из резервной копии (README, "
                "«Резервные копии и восстановление») и запустите снова"
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT; rolled back on any exception. Refused (`StoreLostError`) once the file
        was deleted or replaced: what it commits would be lost or numbered twice."""
        self.verify()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, columns in ADDED_COLUMNS.items():
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, declaration in columns.items():
            if name not in present:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")


def select_in(conn: sqlite3.Connection, sql: str, keys: list[str]) -> list[tuple]:
    """`sql` with `IN ({})` over `keys`, in chunks under SQLite's variable limit."""
    rows: list[tuple] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows.extend(conn.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall())
    return rows
