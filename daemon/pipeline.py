"""process_file: one claimed file in, Accepted | Quarantined | Duplicate out — where core meets shell."""
from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import structlog
from jinja2 import Environment

from daemon import inbox
from daemon.config import Settings
from daemon.core.bankstatement import StatementFailure, incoming_payments, parse_statement
from daemon.core.payments import MatchResult, match_payments
from daemon.core.documents import Document, DocumentKind, DocumentPlan, IssueRules, PlanResult, plan_charge_documents
from daemon.core.payouts import (
    OrderPlan,
    PayoutTerms,
    plan_payment_orders,
    plan_payouts,
    validate_acceptances,
    validate_payouts,
)
from daemon.core.reading import FileError, RawTable, read_table
from daemon.core.records import Company
from daemon.core.report import FileReport, RowError, report_html, report_json, report_xlsx
from daemon.core.rows import RowsValidated
from daemon.core.schema import DEFAULT_MAX_FILE_BYTES, SourceSchema
from daemon.core.validation import validate_table
from daemon.inbox import safe_name
from daemon.mail_queue import client_mails, quarantine_notice
from daemon.render.bankfile import render_payment_file
from daemon.render.enterprisedata import message_file_name, render_message, render_payment_orders
from daemon.render.fns import render_fns
from daemon.render.pdf import PdfPool
from daemon.store import Store
from daemon.workspace import Workspace, write_atomic

log = structlog.get_logger()


@dataclass(frozen=True)
class Accepted:
    documents: int
    skipped: int


@dataclass(frozen=True)
class Quarantined:
    reason: str
    errors: int


@dataclass(frozen=True)
class Duplicate:
    archived_as: Path


FileOutcome = Accepted | Quarantined | Duplicate


@dataclass
class Deps:
    """What processing needs from the outside world, built once per process."""

    workspace: Workspace
    settings: Settings
    company: Company
    store: Store
    schemas: dict[str, SourceSchema]
    pdf: PdfPool
    mail_templates: Environment
    clock: Callable[[], datetime]


def issue_rules(settings: Settings, source: str) -> IssueRules:
    conf = settings.sources[source]
    return IssueRules(
        kinds=conf.documents,
        number_formats={kind: conf.number_format(kind) for kind in conf.documents},
        default_vat=conf.vat_rate,
        vat_included=conf.vat_included,
        payment_days=conf.payment_days,
        onec_number_limits=settings.onec.enabled,
    )


def process_file(path: Path, source: str, deps: Deps) -> FileOutcome:
    """Process a file claimed into work/: every step is safe to repeat after a crash."""
    started = time.monotonic()
    limit = _size_limit(source, deps)
    size = path.stat().st_size
    if size > limit:  # refused unread: a huge export must not take the memory
        with open(path, "rb") as handle:
            sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
        reason = (f"файл {size / 2**20:.0f} МБ больше предела {limit // 2**20} МБ для источника «{source}» "
                  "([limits] max_file_megabytes в его схеме): разделите выгрузку на части")
        outcome, rows = _quarantine(path, sha256, source, FileReport.for_file(path.name, source, reason), 0, deps), 0
    else:
        data = path.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        outcome, rows = _process(path, data, sha256, source, deps)
    bound = log.bind(file=path.name, source=source, sha256=sha256[:12])
    bound.info(
        "file.processed",
        outcome=type(outcome).__name__.lower(),
        rows=rows,
        documents=outcome.documents if isinstance(outcome, Accepted) else 0,
        duration_ms=round((time.monotonic() - started) * 1000),
        **({"reason": outcome.reason} if isinstance(outcome, Quarantined) else {}),
    )
    return outcome


def _size_limit(source: str, deps: Deps) -> int:
    conf = deps.settings.sources[source]
    return DEFAULT_MAX_FILE_BYTES if conf.is_statement else deps.schemas[conf.schema_name].max_file_bytes


def _process(path: Path, data: bytes, sha256: str, source: str, deps: Deps) -> tuple[FileOutcome, int]:
    store, ws = deps.store, deps.workspace
    status = store.file_outcome(sha256)
    if status == "done":
        return Duplicate(inbox.finish(path, ws.archive(source, deps.clock().date()))), 0
    if deps.settings.sources[source].is_statement:
        return _process_statement(path, data, sha256, source, status, deps)
    schema = deps.schemas[deps.settings.sources[source].schema_name]
    flow = FLOWS[schema.record]
    if status == "committed":  # crashed after the commit: finish the outputs, numbers stay
        return Accepted(flow.finish(path, sha256, source, store.file_committed_at(sha256), deps), 0), 0

    table = read_table(data, path.name, schema)
    if isinstance(table, FileError):
        return _quarantine(path, sha256, source, FileReport.for_file(path.name, source, table.reason), 0, deps), 0
    records, errors, ignored = flow.validate(table, schema)
    rows = len(records)
    if not records and not errors:
        report = FileReport.for_file(path.name, source, "в файле нет ни одной строки с данными, только заголовок")
        return _quarantine(path, sha256, source, report, 0, deps), 0
    if ignored:
        log.info("file.columns_ignored", file=path.name, columns=list(ignored))
    if errors:
        return _quarantine(path, sha256, source, FileReport.for_rows(path.name, source, errors), rows, deps), rows

    now = deps.clock()
    intake = Intake(path.name, sha256, source, rows, now)
    with store.transaction() as conn:
        committed = flow.commit(conn, records, intake, deps)
    if not isinstance(committed, Committed):
        return _quarantine(path, sha256, source, FileReport.for_rows(path.name, source, list(committed)), rows, deps), rows
    return Accepted(flow.finish(path, sha256, source, now, deps), committed.skipped), rows


@dataclass(frozen=True)
class Intake:
    """The file being committed, as the store records it."""

    name: str
    sha256: str
    source: str
    rows: int
    now: datetime


@dataclass(frozen=True)
class Committed:
    skipped: int


@dataclass(frozen=True)
class Flow:
    """What a record kind does: validate rows, plan and commit in one transaction, then write the outputs.

    `finish` renders everything from the committed state, so it is the same after a crash as without one;
    it returns how many outputs the file gave.
    """

    validate: Callable[[RawTable, SourceSchema], tuple[Sequence, list[RowError], tuple[str, ...]]]
    commit: Callable[[sqlite3.Connection, Sequence, Intake, Deps], Committed | tuple[RowError, ...]]
    finish: Callable[[Path, str, str, datetime, Deps], int]


def _validate_charges(table: RawTable, schema: SourceSchema) -> tuple[Sequence, list[RowError], tuple[str, ...]]:
    validated = validate_table(table, schema)
    return validated.records, list(validated.errors) + _control_total_errors(validated), validated.ignored_columns


def _validator(validate: Callable[[RawTable, SourceSchema], RowsValidated]):
    def run(table: RawTable, schema: SourceSchema) -> tuple[Sequence, list[RowError], tuple[str, ...]]:
        validated = validate(table, schema)
        return validated.records, list(validated.errors), validated.ignored_columns
    return run


def _commit_charges(conn: sqlite3.Connection, records: Sequence, intake: Intake, deps: Deps) -> Committed | tuple[RowError, ...]:
    ledger = deps.store.load_ledger(conn, (r.inn for r in records), (r.contract for r in records))
    return _commit_documents(conn, plan_charge_documents(records, ledger, issue_rules(deps.settings, intake.source)),
                             intake, deps)


def _commit_payouts(conn: sqlite3.Connection, records: Sequence, intake: Intake, deps: Deps) -> Committed | tuple[RowError, ...]:
    ledger = deps.store.load_payout_ledger(conn, (r.inn for r in records), (r.payout_id for r in records))
    conf = deps.settings.sources[intake.source]
    terms = PayoutTerms(issue_rules(deps.settings, intake.source), conf.service, conf.contract_number)
    return _commit_documents(conn, plan_payouts(records, ledger, terms), intake, deps)


def _commit_documents(conn: sqlite3.Connection, plan: PlanResult, intake: Intake, deps: Deps) -> Committed | tuple[RowError, ...]:
    if not isinstance(plan, DocumentPlan):
        return plan
    mails = client_mails(plan.documents, deps) if deps.settings.sources[intake.source].mail_clients else []
    deps.store.commit_plan(conn, plan, sha256=intake.sha256, source=intake.source, name=intake.name,
                           rows=intake.rows, now=intake.now, mails=mails)
    _log_plan(plan, intake.name)
    return Committed(len(plan.skipped))


def _commit_acceptances(conn: sqlite3.Connection, records: Sequence, intake: Intake, deps: Deps) -> Committed | tuple[RowError, ...]:
    payouts = deps.store.issued_payouts(conn, (r.payout_id for r in records))
    plan = plan_payment_orders(records, payouts, deps.store.sequences(conn), issue_rules(deps.settings, intake.source),
                               intake.now.date())
    if not isinstance(plan, OrderPlan):
        return plan
    deps.store.commit_orders(conn, plan, sha256=intake.sha256, source=intake.source, name=intake.name,
                             rows=intake.rows, now=intake.now)
    for order in plan.orders:
        log.info("payment_order.created", file=intake.name, number=order.number, payout=order.payout_id,
                 act=order.act_number, amount=str(order.amount), payee_inn=order.payee.inn)
    return Committed(0)


DOCUMENTS_PER_MESSAGE = 2000   # outputs are made in parts of this size: memory stays flat, 1C loads each part


def _finish_documents(path: Path, sha256: str, source: str, committed_at: datetime, deps: Deps) -> int:
    """Render every output (deterministic, so a re-render after a crash gives the same bytes), then archive.

    Documents are taken in parts of whole contracts (an act never leaves its invoice's part); each part
    is one 1C message: the first keeps the plain name, the next ones add `-p2`, `-p3`…"""
    ws, settings = deps.workspace, deps.settings
    count = 0
    for part, documents in enumerate(_parts(deps.store.documents_of_file(sha256)), start=1):
        count += len(documents)
        if settings.onec.enabled:
            message = render_message(documents, deps.company, version=settings.onec.version, now=committed_at)
            digest = sha256[:8] if part == 1 else f"{sha256[:8]}-p{part}"
            write_atomic(ws.outbox("1c") / message_file_name(source, committed_at, digest, version=settings.onec.version), message)
        for doc in documents:
            if doc.kind in (DocumentKind.UPD, DocumentKind.TAX_INVOICE):
                _write_fns(doc, committed_at, deps)
        for doc, pdf in zip(documents, deps.pdf.render_many(documents, deps.company)):
            write_atomic(ws.document_pdf(doc), pdf)
            if doc.kind is DocumentKind.AGENT_ACT:
                write_atomic(ws.outbox("platform") / safe_name(f"{doc.basis}.pdf"), pdf)
    _archive(path, sha256, source, committed_at, deps)
    return count


def _parts(documents: Iterable[Document]) -> Iterator[list[Document]]:
    """Consecutive documents in lists of about DOCUMENTS_PER_MESSAGE, cut only between contracts."""
    part: list[Document] = []
    for doc in documents:
        if len(part) >= DOCUMENTS_PER_MESSAGE and _contract_key(doc) != _contract_key(part[-1]):
            yield part
            part = []
        part.append(doc)
    if part:
        yield part


def _contract_key(doc: Document) -> tuple[str, str, date]:
    return doc.contract.number, doc.counterparty.inn, doc.period_start


def _write_fns(doc: Document, committed_at: datetime, deps: Deps) -> None:
    """The ФНС XML of a УПД or счёт-фактура for ЭДО; what the operator's checks would reject is logged."""
    fns = render_fns(doc, deps.company, now=committed_at)
    write_atomic(deps.workspace.outbox("edo") / fns.file_name, fns.content)
    for problem in fns.problems:
        log.warning("edo.problem", kind=doc.kind.value, number=doc.number, problem=problem)


def _finish_orders(path: Path, sha256: str, source: str, committed_at: datetime, deps: Deps) -> int:
    """Payment orders: to 1C as ПлатежноеПоручение and to the bank client as a 1CClientBankExchange file."""
    ws, settings = deps.workspace, deps.settings
    orders = deps.store.orders_of_file(sha256)
    stem = f"{source}_{committed_at:%Y%m%d_%H%M%S}_{sha256[:8]}"
    if settings.onec.enabled:
        message = render_payment_orders(orders, deps.company, version=settings.onec.version, now=committed_at)
        write_atomic(ws.outbox("1c") / message_file_name(source, committed_at, sha256[:8], version=settings.onec.version), message)
    write_atomic(ws.outbox("bank") / f"{stem}.txt", render_payment_file(orders, deps.company, now=committed_at))
    _archive(path, sha256, source, committed_at, deps)
    return len(orders)


def _archive(path: Path, sha256: str, source: str, committed_at: datetime, deps: Deps) -> None:
    inbox.finish(path, deps.workspace.archive(source, committed_at.date()))
    deps.store.finish_file(sha256, "done", deps.clock())


FLOWS = {
    "charge": Flow(_validate_charges, _commit_charges, _finish_documents),
    "payout": Flow(_validator(validate_payouts), _commit_payouts, _finish_documents),
    "acceptance": Flow(_validator(validate_acceptances), _commit_acceptances, _finish_orders),
}


def _process_statement(
    path: Path, data: bytes, sha256: str, source: str, status: str | None, deps: Deps
) -> tuple[FileOutcome, int]:
    """A bank statement: incoming payments matched to invoices, in one transaction; nothing rendered."""
    store = deps.store
    if status != "committed":
        statement = parse_statement(data)
        if isinstance(statement, StatementFailure):
            errors = [RowError(e.line, e.key, e.value, e.reason) for e in statement.errors]
            report = FileReport.for_rows(path.name, source, errors)
            return _quarantine(path, sha256, source, report, 0, deps), 0
        payments = incoming_payments(statement, deps.settings.company.accounts)
        with store.transaction() as conn:
            result = match_payments(
                payments, store.invoices_with_payments(conn), store.seen_payment_keys(conn, (p.key for p in payments)),
                store.known_inns(conn),
            )
            store.commit_payments(conn, result, payments, sha256=sha256, source=source, name=path.name,
                                  now=deps.clock())
        _log_matches(result, path.name)
    else:
        payments = ()
    _archive(path, sha256, source, deps.clock(), deps)
    return Accepted(0, 0), len(payments)


def _log_matches(result: MatchResult, file_name: str) -> None:
    for allocation in result.allocations:
        log.info("payment.matched", file=file_name, invoice=allocation.invoice_number, amount=str(allocation.amount),
                 rule=allocation.rule, explanation=allocation.explanation)
    for inn, amount in result.balances.items():
        log.info("payment.overpaid", file=file_name, inn=inn, balance_added=str(amount))
    for payment in result.unmatched:
        log.warning("payment.unmatched", file=file_name, number=payment.number, amount=str(payment.amount),
                    payer_inn=payment.payer_inn, payer=payment.payer_name, purpose=payment.purpose)
    for payment in result.duplicates:
        log.info("payment.already_seen", file=file_name, number=payment.number, amount=str(payment.amount))


def _control_total_errors(validated) -> list[RowError]:
    """A totals row («Итого») must equal the sum of the lines it covers, to the kopeck."""
    errors = []
    for control in validated.control_totals:
        covered = [r for r in validated.records if control.scope in ("file", r.contract)]
        actual = sum((r.amount for r in covered), start=0)
        if actual != control.amount:
            errors.append(
                RowError(
                    line=control.line,
                    column="Итого",
                    value=str(control.amount),
                    reason=f"контрольная сумма {control.amount} не равна сумме строк {actual}",
                )
            )
    return errors


def _log_plan(plan: DocumentPlan, file_name: str) -> None:
    for card in plan.new_counterparties:
        log.info("counterparty.created", file=file_name, inn=card.inn, name=card.name)
    for change in plan.changed_counterparties:
        for field, (old, new) in change.changes.items():
            log.info("counterparty.updated", file=file_name, inn=change.inn, field=field, old=old, new=new)
    for issued in plan.skipped:
        log.info("document.unchanged", file=file_name, kind=issued.kind.value, number=issued.number)


def _quarantine(
    path: Path, sha256: str, source: str, report: FileReport, rows: int, deps: Deps
) -> Quarantined:
    """Report first, then the file beside it, then tell the operator; each step safe to repeat."""
    ws, now = deps.workspace, deps.clock()
    target = inbox.free_path(ws.quarantine(source), path.name)
    json_path = target.with_name(target.name + ".errors.json")
    html_path = target.with_name(target.name + ".errors.html")
    write_atomic(json_path, report_json(report))
    write_atomic(html_path, report_html(report))
    write_atomic(target.with_name(target.name + ".errors.xlsx"), report_xlsx(report))
    inbox.finish(path, target.parent, name=target.name)
    deps.store.record_quarantined(sha256, source, path.name, rows, now)
    if deps.settings.mail.operators:
        deps.store.enqueue_mail(quarantine_notice(report, ws.relative(html_path), sha256, deps), now)
    log.warning("file.quarantined", file=path.name, source=source, errors=report.total_errors, to=str(target))
    return Quarantined(report.reason, report.total_errors)
