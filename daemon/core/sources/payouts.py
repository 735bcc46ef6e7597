"""Payouts to agents: the platform's export → the agent's card, contract and act per payout (core)."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict

from daemon.core.cells import (
    ContractNumber,
    Email,
    Inn,
    Kpp,
    OptionalDate,
    RequiredDate,
    RequiredText,
    Text,
    parse_money,
)
from daemon.core.documents import (
    CardBook,
    Document,
    DocumentKind,
    DocumentLine,
    IssuedDocument,
    IssueRules,
    PlanResult,
    next_number,
)
from daemon.core.formats import format_roubles
from daemon.core.ids import account_error, bik_error, corr_account_error
from daemon.core.money import split_vat
from daemon.core.periods import act_period
from daemon.core.reading import FileError, RawTable, read_table
from daemon.core.records import BankAccount, Contract, Counterparty, LegalForm, legal_form_for
from daemon.core.report import RowError
from daemon.core.rows import Checked, validate_rows
from daemon.core.schema import SourceSchema


@dataclass(frozen=True)
class PayoutRecord:
    """One validated row of the platform's payout export."""

    row: int
    payout_id: str
    name: str
    legal_form: LegalForm
    inn: str
    kpp: str | None
    bank: BankAccount
    phone: str | None
    email: str | None
    address: str | None
    contract_url: str | None
    contract_number: str | None   # from the export when it has them; else the source's rule
    contract_date: date | None
    registered_at: date
    amount: Decimal
    payout_date: date


# ---- validation ----------------------------------------------------------------------------------

_LEGAL_FORMS = {
    "legal": LegalForm.LEGAL, "юл": LegalForm.LEGAL, "организация": LegalForm.LEGAL, "ооо": LegalForm.LEGAL,
    "ip": LegalForm.ENTREPRENEUR, "ип": LegalForm.ENTREPRENEUR, "entrepreneur": LegalForm.ENTREPRENEUR,
    "self_employed": LegalForm.SELF_EMPLOYED, "самозанятый": LegalForm.SELF_EMPLOYED,
    "нпд": LegalForm.SELF_EMPLOYED,
    "person": LegalForm.PERSON, "физлицо": LegalForm.PERSON, "фл": LegalForm.PERSON,
}


def normalize_phone(text: str) -> str | None:
    """«8 (912) 345-67-80», «+7 912 345 67 81», «9123456782» → «+79123456780»; blank → None."""
    digits = re.sub(r"\D", "", text)
    if not digits:
        return None
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    if len(digits) != 10:
        raise ValueError(f"телефон «{text.strip()}»: ожидается российский номер, 10 цифр после +7")
    return "+7" + digits


def _legal_form(text: str) -> LegalForm | None:
    value = text.strip().lower()
    if not value:
        return None
    if value not in _LEGAL_FORMS:
        raise ValueError(f"неизвестная форма «{text.strip()}»: ожидается legal, ip или self_employed")
    return _LEGAL_FORMS[value]


def _digits(text: str) -> str:
    return re.sub(r"[\s\u00a0-]", "", text)


def _positive_money(text: str) -> Decimal:
    value = parse_money(text)
    if value <= 0:
        raise ValueError("сумма выплаты должна быть больше нуля")
    return value


Phone = Annotated[str | None, BeforeValidator(normalize_phone)]
Form = Annotated[LegalForm | None, BeforeValidator(_legal_form)]
Digits = Annotated[str, BeforeValidator(_digits)]


class PayoutRow(BaseModel):
    """Field-level checks of one payout; requisites that depend on each other follow in `_payout_record`."""

    model_config = ConfigDict(frozen=True)

    payout_id: RequiredText
    name: RequiredText
    legal_form: Form = None
    inn: Inn
    kpp: Kpp = None
    bank_account: Digits
    bik: Digits
    bank_name: RequiredText
    corr_account: Digits
    phone: Phone = None
    email: Email = None
    address: Text = ""
    contract_url: Text = ""
    contract_number: ContractNumber = ""
    contract_date: OptionalDate = None
    registered_at: RequiredDate
    amount: Annotated[Decimal, BeforeValidator(_positive_money)]
    payout_date: RequiredDate


def _requisite_problems(row: PayoutRow, form: LegalForm) -> list[tuple[str, str]]:
    problems = [
        (field, problem)
        for field, problem in (
            ("bik", bik_error(row.bik)),
            ("bank_account", account_error(row.bank_account, row.bik)),
            ("corr_account", corr_account_error(row.corr_account, row.bik)),
        )
        if problem
    ]
    if len(row.inn) == 10 and not row.kpp:
        problems.append(("kpp", "у организации (ИНН из 10 цифр) должен быть КПП"))
    if len(row.inn) == 12 and row.kpp:
        problems.append(("kpp", "у ИП и физлица (ИНН из 12 цифр) КПП не бывает"))
    if (form is LegalForm.LEGAL) != (len(row.inn) == 10):
        problems.append(("legal_form", f"форма «{form.value}» не сходится с ИНН из {len(row.inn)} цифр"))
    if row.registered_at > row.payout_date:
        problems.append(("registered_at", f"дата регистрации позже даты выплаты {row.payout_date:%d.%m.%Y}"))
    return problems


def _payout_record(row: PayoutRow, line: int) -> PayoutRecord | list[tuple[str, str]]:
    form = row.legal_form or legal_form_for(row.inn, row.name)
    problems = _requisite_problems(row, form)
    if problems:
        return problems
    return PayoutRecord(
        row=line,
        payout_id=row.payout_id,
        name=row.name,
        legal_form=form,
        inn=row.inn,
        kpp=row.kpp,
        bank=BankAccount(row.bank_account, row.bik, row.bank_name, row.corr_account),
        phone=row.phone,
        email=row.email,
        address=row.address or None,
        contract_url=row.contract_url or None,
        contract_number=row.contract_number or None,
        contract_date=row.contract_date,
        registered_at=row.registered_at,
        amount=row.amount,
        payout_date=row.payout_date,
    )


def validate_payouts(table: RawTable, schema: SourceSchema) -> Checked[PayoutRecord]:
    return validate_rows(table, schema, PayoutRow, _payout_record)


def check(data: bytes, file_name: str, schema: SourceSchema) -> Checked[PayoutRecord] | FileError:
    """Read and validate the platform's payout export."""
    table = read_table(data, file_name, schema)
    return table if isinstance(table, FileError) else validate_payouts(table, schema)


# ---- planning ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PayoutTerms:
    """How a payout source issues agents' acts."""

    rules: IssueRules                 # kinds = (AGENT_ACT,), its number format and VAT
    service: str = "Агентские услуги"
    contract_number: str = "АД-{contract_id}"   # {contract_id}: the contract link's file name, else the ИНН


@dataclass(frozen=True)
class PayoutLedger:
    """What a payout plan depends on: agents' cards and contracts, their last acts, payouts already issued."""

    counterparties: Mapping[str, Counterparty]
    contracts: Mapping[str, Contract]        # the agent's contract, by ИНН
    last_act_end: Mapping[str, date]         # by ИНН
    payouts: Mapping[str, IssuedDocument]    # payout id → its act
    sequences: Mapping[tuple[DocumentKind, str], int]
    last_act_number: Mapping[str, str] = field(default_factory=dict)   # by ИНН


def _agent_card(record: PayoutRecord) -> Counterparty:
    return Counterparty(
        inn=record.inn,
        kpp=record.kpp,
        name=record.name,
        legal_form=record.legal_form,
        email=record.email,
        phone=record.phone,
        address=record.address,
        bank=record.bank,
        comment=f"Договор: {record.contract_url}" if record.contract_url else None,
    )


def _new_contract(record: PayoutRecord, terms: PayoutTerms) -> Contract:
    if record.contract_number:
        return Contract(record.contract_number, record.inn, date=record.contract_date or record.registered_at)
    link_name = PurePosixPath(urlsplit(record.contract_url or "").path).stem
    number = terms.contract_number.format(contract_id=link_name or record.inn)
    return Contract(number, record.inn, date=record.contract_date or record.registered_at)


def _act_line(record: PayoutRecord, start: date, end: date, terms: PayoutTerms) -> DocumentLine:
    amounts = split_vat(record.amount, terms.rules.default_vat, included=True)
    return DocumentLine(
        position=1,
        service_id=terms.service,   # one nomenclature item in 1C for every payout
        service_name=terms.service,
        address="",
        text=f"{terms.service} за период с {start:%d.%m.%Y} по {end:%d.%m.%Y} (выплата № {record.payout_id})",
        quantity=Decimal(1),
        unit="усл. ед",
        price=amounts.gross,
        vat_rate=terms.rules.default_vat,
        net=amounts.net,
        vat=amounts.vat,
        gross=amounts.gross,
    )


def _before_last_act(number: str, end: date) -> str:
    """Why a payout dated on or before its agent's last act end cannot be issued, and what to do."""
    return (f"последний акт агента № {number} закрыт по {end:%d.%m.%Y}, а выплата датирована этим днём или "
            "раньше; акты агента оформляются по порядку дат выплат. Если акт № "
            f"{number} выпущен по ошибке, аннулируйте его: billdrop cancel {number} --reason «…», и положите "
            "файл снова")


def _error(record: PayoutRecord, column: str, value: str, reason: str) -> RowError:
    return RowError(record.row, column, value, reason)


def plan_payouts(records: Sequence[PayoutRecord], ledger: PayoutLedger, terms: PayoutTerms) -> PlanResult:
    """One agent's act per payout. Period: registration → payout date for an agent's first act, else the day
    after its last act → payout date; an agent's payouts in one file are taken by date and chained.
    A payout id seen before is skipped when unchanged and an error when its amount or agent differ."""
    kind = DocumentKind.AGENT_ACT
    errors: list[RowError] = []
    sequences = dict(ledger.sequences)
    cards = CardBook(ledger.counterparties)
    contracts: dict[str, Contract] = {}
    last_end = dict(ledger.last_act_end)
    last_number = dict(ledger.last_act_number)
    documents: list[Document] = []
    skipped: list[IssuedDocument] = []
    seen: dict[str, int] = {}
    for record in sorted(records, key=lambda r: (r.payout_date, r.row)):
        if record.payout_id in seen:
            errors.append(_error(record, "id", record.payout_id,
                                 f"выплата повторяется: она уже в строке {seen[record.payout_id]}"))
            continue
        seen[record.payout_id] = record.row
        card = cards.merge(_agent_card(record))
        issued = ledger.payouts.get(record.payout_id)
        if issued is not None:
            contract = ledger.contracts.get(record.inn)
            if issued.total == record.amount and contract is not None and issued.contract == contract.number:
                skipped.append(issued)
            else:
                errors.append(_error(record, "amount", str(record.amount),
                                     f"по выплате № {record.payout_id} уже оформлен акт № {issued.number} на "
                                     f"{format_roubles(issued.total)}; изменить выплату можно только "
                                     "корректировкой"))
            continue
        contract = (
            contracts.get(record.inn) or ledger.contracts.get(record.inn) or _new_contract(record, terms)
        )
        contracts[record.inn] = contract
        start, end = act_period(record.registered_at, last_end.get(record.inn), record.payout_date)
        if start > end:
            errors.append(_error(record, "payout_date", f"{record.payout_date:%d.%m.%Y}",
                                 _before_last_act(last_number.get(record.inn, ""), last_end[record.inn])))
            continue
        line = _act_line(record, start, end, terms)
        number = terms.rules.onec_rate_error(line.vat_rate, row=record.row) or next_number(
            kind, terms.rules, sequences, period=record.payout_date, row=record.row)
        if isinstance(number, RowError):
            errors.append(number)
            continue
        last_end[record.inn], last_number[record.inn] = end, number
        documents.append(Document(
            kind=kind, number=number, date=record.payout_date, period_start=start, period_end=end,
            counterparty=card, contract=contract, lines=(line,),
            vat_included=True, basis=record.payout_id,
        ))
    if errors:
        return tuple(errors)
    # the cards as they stand after the whole file, on every document; new agents' contracts only
    documents = [replace(d, counterparty=cards.cards[d.counterparty.inn]) for d in documents]
    new_contracts = [c for inn, c in contracts.items() if inn not in ledger.contracts]
    return cards.plan(new_contracts, documents, skipped, sequences, ledger.sequences)


