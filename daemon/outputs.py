"""The output chain: what a committed file gives, each output written from the committed state (shell).

In order: the 1C message, ФНС XML, the PDFs, the platform's copies, the bank file, the mails. Each
output says whether it applies to a source; each renders deterministically from what the store holds,
so writing it again after a crash gives the same bytes, and mails are keyed so none goes twice.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import structlog

from daemon.config import AcceptancesSource, ChargesSource, PayoutsSource, SourceSettings
from daemon.context import Context
from daemon.core.documents import Document, DocumentKind
from daemon.inbox import safe_name
from daemon.mail_queue import queue_client_mails
from daemon.render.bankfile import render_payment_file
from daemon.render.enterprisedata import message_file_name, render_message, render_payment_orders
from daemon.render.fns import render_fns
from daemon.store.acceptances import orders_of_file
from daemon.store.documents import documents_of_file
from daemon.workspace import write_atomic

log = structlog.get_logger()
DOCUMENTS_PER_MESSAGE = 2000   # outputs are made in parts of this size: memory stays flat, 1C loads each part
EDO_KINDS = frozenset({DocumentKind.UPD, DocumentKind.TAX_INVOICE})


@dataclass(frozen=True)
class CommittedFile:
    """A file whose plan is committed: its outputs are written from what the store holds for it."""

    source: str
    sha256: str
    committed_at: datetime


@dataclass(frozen=True)
class Output:
    name: str
    applies: Callable[[Context, SourceSettings], bool]
    write: Callable[[Context, CommittedFile], None]


def _issues_documents(ctx: Context, conf: SourceSettings) -> bool:
    return isinstance(conf, ChargesSource | PayoutsSource)


def _parts(ctx: Context, sha256: str) -> Iterator[list[Document]]:
    """The file's documents in lists of about DOCUMENTS_PER_MESSAGE, cut only between contracts
    (an act never leaves its invoice's part)."""
    part: list[Document] = []
    for doc in documents_of_file(ctx.store.conn, sha256):
        if len(part) >= DOCUMENTS_PER_MESSAGE and _contract_key(doc) != _contract_key(part[-1]):
            yield part
            part = []
        part.append(doc)
    if part:
        yield part


def _contract_key(doc: Document) -> tuple[str, str, date]:
    return doc.contract.number, doc.counterparty.inn, doc.period_start


def _write(ctx: Context, path: Path, data: bytes) -> None:
    """One output file, temp-then-rename; each one written is progress (the watchdog's heartbeat)."""
    write_atomic(path, data)
    ctx.progress()


def _write_1c_documents(ctx: Context, file: CommittedFile) -> None:
    """One EnterpriseData message per part: the first keeps the plain name, the next add `-p2`, `-p3`…"""
    version = ctx.settings.onec.version
    for part, documents in enumerate(_parts(ctx, file.sha256), start=1):
        message = render_message(documents, ctx.company, version=version, now=file.committed_at)
        digest = file.sha256[:8] if part == 1 else f"{file.sha256[:8]}-p{part}"
        name = message_file_name(file.source, file.committed_at, digest, version=version)
        _write(ctx, ctx.workspace.outbox("1c") / name, message)


def _write_1c_orders(ctx: Context, file: CommittedFile) -> None:
    version = ctx.settings.onec.version
    orders = orders_of_file(ctx.store.conn, file.sha256)
    message = render_payment_orders(orders, ctx.company, version=version, now=file.committed_at)
    name = message_file_name(file.source, file.committed_at, file.sha256[:8], version=version)
    _write(ctx, ctx.workspace.outbox("1c") / name, message)


def _write_fns(ctx: Context, file: CommittedFile) -> None:
    """The ФНС XML of each УПД and счёт-фактура for ЭДО; what the operator's checks would reject is logged."""
    for documents in _parts(ctx, file.sha256):
        for doc in documents:
            if doc.kind not in EDO_KINDS:
                continue
            fns = render_fns(doc, ctx.company, now=file.committed_at)
            _write(ctx, ctx.workspace.outbox("edo") / fns.file_name, fns.content)
            for problem in fns.problems:
                log.warning("edo.problem", kind=doc.kind.value, number=doc.number, problem=problem)


def _write_pdfs(ctx: Context, file: CommittedFile) -> None:
    """Every document's PDF in its counterparty's folder documents/<ИНН>/<YYYY-MM>/."""
    for documents in _parts(ctx, file.sha256):
        for doc, pdf in zip(documents, ctx.pdf.render_many(documents, ctx.company), strict=True):
            _write(ctx, ctx.workspace.document_pdf(doc), pdf)


def _write_platform_copies(ctx: Context, file: CommittedFile) -> None:
    """An agent's act also goes to outbox/platform/<payout id>.pdf for the agent's cabinet."""
    for documents in _parts(ctx, file.sha256):
        for doc in documents:
            pdf = ctx.workspace.document_pdf(doc).read_bytes()
            _write(ctx, ctx.workspace.outbox("platform") / safe_name(f"{doc.basis}.pdf"), pdf)


def _write_bank_file(ctx: Context, file: CommittedFile) -> None:
    """Payment orders for the bank client as a 1CClientBankExchange upload file."""
    orders = orders_of_file(ctx.store.conn, file.sha256)
    stem = f"{file.source}_{file.committed_at:%Y%m%d_%H%M%S}_{file.sha256[:8]}"
    _write(ctx, ctx.workspace.outbox("bank") / f"{stem}.txt",
           render_payment_file(orders, ctx.company, now=file.committed_at))


def _queue_client_mails(ctx: Context, file: CommittedFile) -> None:
    """Each client's documents of a period in one mail, once the PDFs exist; keyed, so never twice."""
    documents: Iterable[Document] = documents_of_file(ctx.store.conn, file.sha256)
    with ctx.store.transaction() as conn:
        queue_client_mails(conn, documents, ctx.mail, ctx.workspace, ctx.clock())


OUTPUTS = (
    Output("1c", lambda ctx, conf: ctx.settings.onec.enabled and _issues_documents(ctx, conf),
           _write_1c_documents),
    Output("1c_orders", lambda ctx, conf: ctx.settings.onec.enabled and isinstance(conf, AcceptancesSource),
           _write_1c_orders),
    Output("edo", lambda ctx, conf: _issues_documents(ctx, conf) and bool(EDO_KINDS & set(conf.issues)),
           _write_fns),
    Output("pdf", _issues_documents, _write_pdfs),
    Output("platform", lambda ctx, conf: isinstance(conf, PayoutsSource), _write_platform_copies),
    Output("bank", lambda ctx, conf: isinstance(conf, AcceptancesSource), _write_bank_file),
    Output("mail", lambda ctx, conf: isinstance(conf, ChargesSource | PayoutsSource) and conf.mail_clients,
           _queue_client_mails),
)


def write_outputs(ctx: Context, file: CommittedFile) -> tuple[str, ...]:
    """Every output that applies to the file's source, in chain order; returns their names."""
    conf = ctx.settings.sources[file.source]
    written = []
    for output in OUTPUTS:
        if output.applies(ctx, conf):
            output.write(ctx, file)
            written.append(output.name)
    return tuple(written)
