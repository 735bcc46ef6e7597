"""process_file: one claimed file in, Accepted | Quarantined | Duplicate out — where core meets shell."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog
from jinja2 import Environment

from daemon import inbox
from daemon.config import Settings
from daemon.core.bankstatement import StatementFailure, incoming_payments, parse_statement
from daemon.core.payments import MatchResult, match_payments
from daemon.core.documents import Document, DocumentPlan, IssueRules, plan_charge_documents
from daemon.core.reading import FileError, read_table
from daemon.core.report import FileReport, RowError, report_html, report_json
from daemon.core.schema import SourceSchema
from daemon.core.validation import validate_table
from daemon.core.records import Company
from daemon.mail_queue import client_mails, quarantine_notice
from daemon.render.enterprisedata import message_file_name, render_message
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
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    bound = log.bind(file=path.name, source=source, sha256=sha256[:12])
    outcome, rows = _process(path, data, sha256, source, deps)
    bound.info(
        "file.processed",
        outcome=type(outcome).__name__.lower(),
        rows=rows,
        documents=outcome.documents if isinstance(outcome, Accepted) else 0,
        duration_ms=round((time.monotonic() - started) * 1000),
        **({"reason": outcome.reason} if isinstance(outcome, Quarantined) else {}),
    )
    return outcome


def _process(path: Path, data: bytes, sha256: str, source: str, deps: Deps) -> tuple[FileOutcome, int]:
    store, ws = deps.store, deps.workspace
    status = store.file_outcome(sha256)
    if status == "done":
        return Duplicate(inbox.finish(path, ws.archive(source, deps.clock().date()))), 0
    if deps.settings.sources[source].is_statement:
        return _process_statement(path, data, sha256, source, status, deps)
    if status == "committed":  # crashed after the commit: finish the outputs, numbers stay
        documents = store.documents_of_file(sha256)
        _finish_accepted(path, sha256, source, documents, store.file_committed_at(sha256), deps)
        return Accepted(len(documents), 0), 0

    schema = deps.schemas[deps.settings.sources[source].schema_name]
    table = read_table(data, path.name, schema)
    if isinstance(table, FileError):
        return _quarantine(path, sha256, source, FileReport.for_file(path.name, source, table.reason), 0, deps), 0
    validated = validate_table(table, schema)
    rows = len(validated.records)
    if not validated.records and not validated.errors:
        report = FileReport.for_file(path.name, source, "в файле нет ни одной строки с данными, только заголовок")
        return _quarantine(path, sha256, source, report, 0, deps), 0
    if validated.ignored_columns:
        log.info("file.columns_ignored", file=path.name, columns=list(validated.ignored_columns))
    errors = list(validated.errors) + _control_total_errors(validated)
    if errors:
        report = FileReport.for_rows(path.name, source, errors)
        return _quarantine(path, sha256, source, report, rows, deps), rows

    now = deps.clock()
    with store.transaction() as conn:
        ledger = store.load_ledger(
            conn, (r.inn for r in validated.records), (r.contract for r in validated.records)
        )
        plan = plan_charge_documents(validated.records, ledger, issue_rules(deps.settings, source))
        if isinstance(plan, DocumentPlan):
            mails = client_mails(plan.documents, deps) if deps.settings.sources[source].mail_clients else []
            store.commit_plan(
                conn, plan, sha256=sha256, source=source, name=path.name, rows=rows, now=now, mails=mails
            )
    if not isinstance(plan, DocumentPlan):
        report = FileReport.for_rows(path.name, source, list(plan))
        return _quarantine(path, sha256, source, report, rows, deps), rows
    _log_plan(plan, path.name)
    _finish_accepted(path, sha256, source, list(plan.documents), now, deps)
    return Accepted(len(plan.documents), len(plan.skipped)), rows


def _process_statement(
    path: Path, data: bytes, sha256: str, source: str, status: str | None, deps: Deps
) -> tuple[FileOutcome, int]:
    """A bank statement: incoming payments matched to invoices, in one transaction; nothing rendered."""
    store, ws = deps.store, deps.workspace
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
    inbox.finish(path, ws.archive(source, deps.clock().date()))
    store.finish_file(sha256, "done", deps.clock())
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


def _finish_accepted(
    path: Path, sha256: str, source: str, documents: list[Document], committed_at: datetime, deps: Deps
) -> None:
    """Render every output (deterministic, so a re-render after a crash gives the same bytes), then archive."""
    ws, settings = deps.workspace, deps.settings
    if documents and settings.onec.enabled:
        message = render_message(documents, deps.company, version=settings.onec.version, now=committed_at)
        write_atomic(ws.outbox("1c") / message_file_name(source, committed_at, sha256[:8], version=settings.onec.version), message)
    for doc, pdf in zip(documents, deps.pdf.render_many(documents, deps.company)):
        write_atomic(ws.document_pdf(doc), pdf)
    inbox.finish(path, ws.archive(source, committed_at.date()))
    deps.store.finish_file(sha256, "done", deps.clock())


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
    inbox.finish(path, target.parent, name=target.name)
    deps.store.record_quarantined(sha256, source, path.name, rows, now)
    if deps.settings.mail.operators:
        deps.store.enqueue_mail(quarantine_notice(report, ws.relative(html_path), sha256, deps), now)
    log.warning("file.quarantined", file=path.name, source=source, errors=report.total_errors, to=str(target))
    return Quarantined(report.reason, report.total_errors)
