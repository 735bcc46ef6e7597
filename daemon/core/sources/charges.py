"""Charges (начисления) of a billing export: rows → records → invoices, acts, УПД, счета-фактуры (core).

Charge rows, the big files, call the memoised cell parsers directly (twice as fast as a model per row);
every error becomes a RowError right here (row as Excel shows it, column as the file names it, the raw
value, the reason). Totals rows («Итого по договору») are control sums, reconciled to the kopeck.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from daemon.core.cells import (
    parse_contract_number,
    parse_email,
    parse_inn,
    parse_kpp,
    parse_optional_date,
    parse_optional_money,
    parse_period,
    parse_quantity,
    parse_required_text,
    parse_service_code,
    parse_text,
    parse_vat_rate,
)
from daemon.core.cleaning import is_blank, parse_decimal
from daemon.core.documents import (
    CardBook,
    Document,
    DocumentKind,
    DocumentLine,
    IssuedDocument,
    IssueRules,
    PlanResult,
    ZeroTotal,
    line_fingerprint,
    next_number,
)
from daemon.core.formats import format_roubles, month_name
from daemon.core.money import VatRate, split_vat, to_kopecks
from daemon.core.names import person_name
from daemon.core.periods import month_end, month_start, prorate
from daemon.core.reading import FileError, RawRow, RawTable, read_table
from daemon.core.records import ChargeRecord, Contract, Counterparty, LegalForm, legal_form_for
from daemon.core.report import RowError
from daemon.core.rows import MISSING_COLUMN, Checked, columns_of
from daemon.core.schema import SourceSchema


@dataclass(frozen=True)
class Ledger:
    """The state a plan depends on: known counterparties, issued documents, sequence counters.

    Issued documents are keyed by kind, contract number, the counterparty's ИНН and period: two
    billings may both have a «Д-150», but not for the same client."""

    counterparties: Mapping[str, Counterparty]
    issued: Mapping[tuple[DocumentKind, str, str, date], IssuedDocument]
    sequences: Mapping[tuple[DocumentKind, str], int]
    # (number, ИНН) → the contract's date; `dataclasses.field`: a loop below names its variable `field`
    contract_dates: Mapping[tuple[str, str], date] = dataclasses.field(default_factory=dict)


# Not frozen: built and read once per row, and a frozen __init__ would cost a tenth of the validation time.
@dataclass(slots=True)
class ChargeRow:
    """Field-level values of one charge line; cross-field rules follow in `_charge_record`."""

    contract: str
    client_name: str
    inn: str
    service_name: str
    period: date
    account: str = ""
    kpp: str | None = None
    email: str | None = None
    service_id: str = ""
    address: str = ""
    quantity: Decimal | None = None
    unit: str = ""
    price: Decimal | None = None
    amount: Decimal | None = None
    vat_rate: VatRate | None = None
    active_from: date | None = None
    active_to: date | None = None
    monthly_fee: Decimal | None = None
    manager_email: str | None = None
    edo_id: str = ""
    service_code: str = ""
    buyer_address: str = ""
    contract_date: date | None = None


# Each field's parser, in the order a row's errors are reported.
_CHARGE_PARSERS: dict[str, Callable[[str], object]] = {
    "contract": parse_contract_number, "account": parse_text, "client_name": parse_required_text,
    "inn": parse_inn, "kpp": parse_kpp, "email": parse_email, "service_id": parse_text,
    "address": parse_text, "service_name": parse_required_text, "period": parse_period,
    "quantity": parse_quantity, "unit": parse_text, "price": parse_optional_money,
    "amount": parse_optional_money, "vat_rate": parse_vat_rate, "active_from": parse_optional_date,
    "active_to": parse_optional_date, "monthly_fee": parse_optional_money, "manager_email": parse_email,
    "edo_id": parse_text, "service_code": parse_service_code, "buyer_address": parse_text,
    "contract_date": parse_optional_date,
}
_REQUIRED_FIELDS = frozenset(f.name for f in fields(ChargeRow) if f.default is MISSING)


@dataclass(frozen=True)
class ControlTotal:
    """An amount on a totals row: for the whole file, or for one contract («Итого по договору»)."""

    line: int
    scope: str      # "file" or a contract number
    amount: Decimal


@dataclass(frozen=True)
class Validated:
    records: tuple[ChargeRecord, ...]
    errors: tuple[RowError, ...]
    control_totals: tuple[ControlTotal, ...]
    ignored_columns: tuple[str, ...]
    mapped: tuple[tuple[str, str], ...] = ()   # (header as the file names it, field)


def validate_table(table: RawTable, schema: SourceSchema) -> Validated:
    columns, ignored = columns_of(table, schema)
    header_of = {field: table.headers[index] for field, index in columns.items()}
    # (field, column index or None when the file lacks a required column, parser), in reporting order
    plan = [(f, columns.get(f), parse) for f, parse in _CHARGE_PARSERS.items()
            if f in columns or f in _REQUIRED_FIELDS]
    totals = schema.totals_pattern
    # The first cells (contract, account, client) repeat on every line of a contract.
    is_total = functools.lru_cache(maxsize=4096)(lambda text: totals.match(text.lstrip().lower()) is not None)
    records, errors, controls = [], [], []
    for row in table.rows:
        if is_blank(row.cells):
            continue
        if any(map(is_total, row.cells[:4])):
            cells = {field: row.cells[index] for field, index in columns.items()}
            control = _control_total(row, cells, header_of)
            if isinstance(control, RowError):
                errors.append(control)
            elif control is not None:
                controls.append(control)
            continue
        values, problems = _parse_fields(row, plan)
        result = problems or _charge_record(ChargeRow(**values), row)
        if isinstance(result, ChargeRecord):
            records.append(result)
            continue
        for field, reason in result:
            value = row.cells[columns[field]] if field in columns else ""
            errors.append(RowError(row.line, header_of.get(field, field), value, reason))
    return Validated(
        tuple(records), tuple(errors), tuple(controls), ignored, tuple((h, f) for f, h in header_of.items())
    )


def _parse_fields(
    row: RawRow, plan: list[tuple[str, int | None, Callable[[str], object]]]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Each present field's value, and (field, reason) for each cell that does not parse."""
    # Any: each value has its ChargeRow field's type (the parser table says which), which mypy cannot
    # follow through a dict keyed by field name.
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for field, index, parse in plan:
        if index is None:
            problems.append((field, MISSING_COLUMN))
            continue
        try:
            values[field] = parse(row.cells[index])
        except ValueError as exc:
            problems.append((field, str(exc)))
    return values, problems


def _control_total(
    row: RawRow, cells: dict[str, str], header_of: dict[str, str]
) -> ControlTotal | RowError | None:
    text = cells.get("amount", "").strip()
    if not text:
        return None
    try:
        amount = parse_decimal(text)
    except ValueError as exc:
        return RowError(row.line, header_of.get("amount", "amount"), text, f"итоговая строка: {exc}")
    contract = cells.get("contract", "").strip()
    scope = contract if contract and not contract.lower().startswith(("итого", "всего")) else "file"
    return ControlTotal(row.line, scope, amount)


def _date_problems(parsed: ChargeRow) -> list[tuple[str, str]]:
    """Service dates must overlap the billed month and run forwards."""
    first, last = month_start(parsed.period), month_end(parsed.period)
    problems = []
    if parsed.active_from and parsed.active_from > last:
        problems.append(("active_from", f"дата подключения позже конца периода {last:%d.%m.%Y}"))
    if parsed.active_to and parsed.active_to < first:
        problems.append(("active_to", f"дата отключения раньше начала периода {first:%d.%m.%Y}"))
    if parsed.active_from and parsed.active_to and parsed.active_to < parsed.active_from:
        problems.append(("active_to", "дата отключения раньше даты подключения"))
    return problems


def _charge_record(parsed: ChargeRow, row: RawRow) -> ChargeRecord | list[tuple[str, str]]:
    """Cross-field rules: the amount from price or pro-rated fee, and the dates inside the period."""
    problems: list[tuple[str, str]] = []
    quantity = parsed.quantity or Decimal(1)
    dated = parsed.active_from is not None or parsed.active_to is not None
    if len(parsed.inn) == 12 and parsed.kpp:
        problems.append(("kpp", "у ИП и физлица (ИНН из 12 цифр) КПП не бывает"))
    if dated:
        problems += _date_problems(parsed)
    if parsed.monthly_fee is None or problems:
        prorated = None
    elif dated:
        prorated = prorate(parsed.monthly_fee, parsed.period, parsed.active_from, parsed.active_to)
    else:
        prorated = parsed.monthly_fee
    amount, amount_problems = _amount(parsed, quantity, prorated, dated=dated)
    problems += amount_problems
    if problems or amount is None:   # a missing amount comes with its problem
        return problems
    return ChargeRecord(
        row=row.line,
        contract=parsed.contract,
        account=parsed.account,
        client_name=parsed.client_name,
        inn=parsed.inn,
        kpp=parsed.kpp,
        email=parsed.email,
        service_id=parsed.service_id or parsed.service_name,
        address=parsed.address,
        service_name=parsed.service_name,
        period=parsed.period,
        quantity=quantity,
        unit=parsed.unit or "мес",
        price=parsed.price,
        amount=amount,
        vat_rate=parsed.vat_rate,
        active_from=parsed.active_from,
        active_to=parsed.active_to,
        monthly_fee=parsed.monthly_fee,
        manager_email=parsed.manager_email,
        edo_id=parsed.edo_id or None,
        service_code=parsed.service_code,
        buyer_address=parsed.buyer_address or None,
        contract_date=parsed.contract_date,
    )


def _amount(
    parsed: ChargeRow, quantity: Decimal, prorated: Decimal | None, *, dated: bool
) -> tuple[Decimal | None, list[tuple[str, str]]]:
    """The line's amount: as given (checked against price × quantity and the pro-rated fee), or computed."""
    amount = parsed.amount
    problems: list[tuple[str, str]] = []
    if amount is None:
        if parsed.price is not None:
            amount = to_kopecks(parsed.price * quantity)
        elif prorated is not None:
            amount = prorated
        else:
            problems.append(
                ("amount", "сумма не заполнена, и нет ни цены, ни абонентской платы, чтобы её рассчитать")
            )
    else:
        if parsed.price is not None and to_kopecks(parsed.price * quantity) != amount:
            expected = format_roubles(to_kopecks(parsed.price * quantity))
            problems.append(("amount", f"сумма не равна количеству × цене = {expected}"))
        if prorated is not None and dated and prorated != amount:
            problems.append(
                ("amount", f"сумма не равна абонплате пропорционально дням = {format_roubles(prorated)}")
            )
    return amount, problems


# ---- planning ------------------------------------------------------------------------------------

def _line_text(record: ChargeRecord) -> str:
    first, last = month_start(record.period), month_end(record.period)
    start = max(first, record.active_from or first)
    end = min(last, record.active_to or last)
    when = (
        f"за {month_name(record.period)} г."
        if (start, end) == (first, last)
        else f"за период с {start:%d.%m.%Y} по {end:%d.%m.%Y}"
    )
    return f"{record.service_name} {when}; адрес подключения: {record.address}" if record.address else (
        f"{record.service_name} {when}"
    )


def charge_lines(records: Sequence[ChargeRecord], rules: IssueRules) -> tuple[DocumentLine, ...]:
    """One line per service; VAT per line so that totals are sums of rounded lines."""
    lines = []
    for position, record in enumerate(records, start=1):
        rate = record.vat_rate or rules.default_vat
        amounts = split_vat(record.amount, rate, included=rules.vat_included)
        price = record.price if record.price is not None else to_kopecks(record.amount / record.quantity)
        lines.append(
            DocumentLine(
                position=position,
                service_id=record.service_id,
                service_name=record.service_name,
                address=record.address,
                text=_line_text(record),
                quantity=record.quantity,
                unit=record.unit,
                price=price,
                vat_rate=rate,
                net=amounts.net,
                vat=amounts.vat,
                gross=amounts.gross,
                service_code=record.service_code,
            )
        )
    return tuple(lines)


def _counterparty_of(record: ChargeRecord) -> Counterparty:
    return Counterparty(
        inn=record.inn,
        kpp=record.kpp,
        name=record.client_name,
        legal_form=legal_form_for(record.inn, record.client_name),
        email=record.email,
        manager_email=record.manager_email,
        edo_id=record.edo_id,
        address=record.buyer_address,
    )


def _group_by_contract(records: Sequence[ChargeRecord]) -> dict[tuple[str, date], list[ChargeRecord]]:
    """Records per (contract, period), in the order contracts first appear in the file."""
    groups: dict[tuple[str, date], list[ChargeRecord]] = {}
    for record in records:
        groups.setdefault((record.contract, record.period), []).append(record)
    return groups


def _consistency_errors(group: list[ChargeRecord]) -> list[RowError]:
    first = group[0]
    return [
        RowError(
            line=record.row,
            column="ИНН",
            value=record.inn,
            reason=f"договор {record.contract}: ИНН {record.inn} отличается от ИНН {first.inn} "
            f"в строке {first.row}",
        )
        for record in group[1:]
        if record.inn != first.inn
    ]


def plan_charge_documents(
    records: Sequence[ChargeRecord], ledger: Ledger, rules: IssueRules, today: date
) -> PlanResult:
    """Invoices and acts per contract and period, numbered gaplessly, or the row errors that stop it.

    Invoice date by `rules.invoice_date` (the day of issue, `today`, or the period's first day), act and
    УПД date = the period's last day. A contract whose period sums to zero gets no documents. An unchanged
    re-export of an issued period is skipped, a changed one is an error (it needs a correction, not a
    new number).
    """
    errors: list[RowError] = []
    sequences = dict(ledger.sequences)
    cards = CardBook(ledger.counterparties)
    contracts: dict[str, Contract] = {}
    documents: list[Document] = []
    skipped: list[IssuedDocument] = []
    zero_totals: list[ZeroTotal] = []
    for (contract_no, period), group in _group_by_contract(records).items():
        problems = _consistency_errors(group)
        if problems:
            errors.extend(problems)
            continue
        first = group[0]
        card = cards.merge(_counterparty_of(first))
        contract = contracts.setdefault(contract_no, _contract_of(group, ledger))
        lines = charge_lines(group, rules)
        rate_errors = [e for r, line in zip(group, lines, strict=True)
                       if (e := rules.rate_error(line.vat_rate, period=period, row=r.row))]
        if rate_errors:
            errors.extend(rate_errors)
            continue
        if sum(line.gross for line in lines) == 0 and not any(
                (kind, contract_no, first.inn, period) in ledger.issued for kind in rules.kinds):
            zero_totals.append(ZeroTotal(contract_no, first.inn, card.name, period, first.row))
            continue
        exempt = all(line.vat_rate.exempt for line in lines)
        # no счёт-фактура without VAT (a seller on УСН)
        kinds = [k for k in rules.kinds if not (k is DocumentKind.TAX_INVOICE and exempt)]
        requisite_error = _entrepreneur_name_error(first, card, kinds) or (
            None if exempt else _buyer_address_error(first, card, kinds))
        if requisite_error is not None:
            errors.append(requisite_error)
            continue
        fingerprint = line_fingerprint(lines)
        for kind in kinds:
            issued = ledger.issued.get((kind, contract_no, first.inn, period))
            if issued is not None:
                if issued.fingerprint == fingerprint:
                    skipped.append(issued)
                else:
                    errors.append(_reissue_error(first, issued, lines))
                continue
            number_or_error = next_number(
                kind, rules, sequences, period=first.period, account=first.account, row=first.row
            )
            if isinstance(number_or_error, RowError):
                errors.append(number_or_error)
                continue
            documents.append(_document(kind, number_or_error, period, card, contract, lines, rules, today))
    if errors:
        return tuple(errors)
    return cards.plan(
        tuple(contracts.values()), _link_related(documents), skipped, sequences, ledger.sequences, zero_totals
    )


def _document(kind: DocumentKind, number: str, period: date, card: Counterparty, contract: Contract,
              lines: tuple[DocumentLine, ...], rules: IssueRules, today: date) -> Document:
    """An invoice dated and due by the rules; an act, УПД or счёт-фактура on the period's last day."""
    start, end = month_start(period), month_end(period)
    if kind is DocumentKind.INVOICE:
        issue_date, due_date = rules.invoice_dates(start, today)
    else:
        issue_date, due_date = end, None
    return Document(kind=kind, number=number, date=issue_date, period_start=start, period_end=end,
                    counterparty=card, contract=contract, lines=lines, vat_included=rules.vat_included,
                    due_date=due_date)


def _contract_of(group: Sequence[ChargeRecord], ledger: Ledger) -> Contract:
    """The contract of a group: its date from the export, else as the ledger knows it."""
    first = group[0]
    dated = next((r.contract_date for r in group if r.contract_date is not None), None)
    return Contract(first.contract, first.inn, first.account,
                    dated or ledger.contract_dates.get((first.contract, first.inn)))


# With VAT, a счёт-фактура and a УПД (then status 1) need the buyer's address (ст. 169 п. 5 НК РФ).
_ADDRESS_KINDS = {DocumentKind.TAX_INVOICE: "счёт-фактуре", DocumentKind.UPD: "УПД со статусом 1"}


def _buyer_address_error(
    first: ChargeRecord, card: Counterparty, kinds: Sequence[DocumentKind]
) -> RowError | None:
    """Why a contract's documents with VAT cannot be issued: one must name the buyer's address, and neither
    the file nor the card has it."""
    needing = [name for kind, name in _ADDRESS_KINDS.items() if kind in kinds]
    if card.address or not needing:
        return None
    return RowError(
        line=first.row,
        column="Юридический адрес",
        value="",
        reason=f"договор {first.contract}: нет адреса покупателя {card.name} — в {needing[0]} это "
        "обязательный реквизит (п. 5 ст. 169 НК РФ); добавьте в выгрузку колонку «Юридический адрес»",
    )


def _entrepreneur_name_error(
    first: ChargeRecord, card: Counterparty, kinds: Sequence[DocumentKind]
) -> RowError | None:
    """A УПД or счёт-фактура goes to ЭДО as ФНС XML, which needs an ИП's surname and first name."""
    if card.legal_form is not LegalForm.ENTREPRENEUR or person_name(card).first_name is not None:
        return None
    needing = [name for kind, name in _FNS_KINDS.items() if kind in kinds]
    if not needing:
        return None
    return RowError(
        line=first.row, column="Клиент", value=card.name,
        reason=f"договор {first.contract}: у ИП нужны фамилия и имя («ИП Иванов Иван Иванович») — "
        f"без них {needing[0]} не пройдёт проверку схемой ФНС",
    )


_FNS_KINDS = {DocumentKind.UPD: "УПД", DocumentKind.TAX_INVOICE: "счёт-фактура"}


def _reissue_error(first: ChargeRecord, issued: IssuedDocument, lines: Sequence[DocumentLine]) -> RowError:
    total = sum((line.gross for line in lines), Decimal("0.00"))
    return RowError(
        line=first.row,
        column="Договор",
        value=first.contract,
        reason=f"за {month_name(first.period)} по договору уже выставлен {issued.kind.title.lower()} "
        f"№ {issued.number} на {format_roubles(issued.total)}; в новой выгрузке {format_roubles(total)} — "
        "исправление выставленного документа делается корректировкой, а не новым номером",
    )


def _link_related(documents: list[Document]) -> list[Document]:
    """An act or УПД points at the invoice of its contract and period; a счёт-фактура at the act or УПД."""
    by_kind = {(d.kind, d.contract.number, d.period_start): d.number for d in documents}

    def related(d: Document) -> str | None:
        key = (d.contract.number, d.period_start)
        if d.kind is DocumentKind.TAX_INVOICE:
            return by_kind.get((DocumentKind.ACT, *key)) or by_kind.get((DocumentKind.UPD, *key))
        return by_kind.get((DocumentKind.INVOICE, *key))

    return [d if d.kind is DocumentKind.INVOICE else replace(d, related_number=related(d)) for d in documents]


def reconcile_totals(validated: Validated) -> list[RowError]:
    """A totals row («Итого») must equal the sum of the lines it covers, to the kopeck; while some lines have
    errors their sum means nothing, so the totals wait until the lines are fixed."""
    errors: list[RowError] = []
    for control in () if validated.errors else validated.control_totals:
        covered = [r for r in validated.records if control.scope in ("file", r.contract)]
        actual = sum((r.amount for r in covered), start=Decimal("0.00"))
        if actual != control.amount:
            reason = (f"контрольная сумма {format_roubles(control.amount)} не равна сумме строк "
                      f"{format_roubles(actual)}")
            errors.append(RowError(control.line, "Итого", str(control.amount), reason))
    return errors


# ---- the source protocol ---------------------------------------------------------------------------

def check(data: bytes, file_name: str, schema: SourceSchema) -> Checked[ChargeRecord] | FileError:
    """Read and validate a charges export, its control totals reconciled."""
    table = read_table(data, file_name, schema)
    if isinstance(table, FileError):
        return table
    validated = validate_table(table, schema)
    return Checked(validated.records, validated.errors + tuple(reconcile_totals(validated)), validated.mapped,
                   validated.ignored_columns)

