"""1CClientBankExchange statements (format 1.01–1.03) to incoming payments (core).

A text file of `Key=Value` lines with СекцияРасчСчет … КонецРасчСчет and СекцияДокумент=<kind> …
КонецДокумента sections. `Кодировка` says Windows (cp1251) or DOS (cp866), but real files lie, so
strict UTF-8 is tried first.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from daemon.core.cleaning import parse_date, parse_decimal

FIRST_LINE = "1CClientBankExchange"
_INN_PREFIX = re.compile(r"^ИНН\s*\d+\s*")


@dataclass(frozen=True)
class StatementError:
    line: int
    key: str
    value: str
    reason: str


@dataclass(frozen=True)
class StatementFailure:
    errors: tuple[StatementError, ...]

    @property
    def reason(self) -> str:
        return "; ".join(f"строка {e.line}, {e.key}: {e.reason}" for e in self.errors[:5])


@dataclass(frozen=True)
class StatementDocument:
    """One payment document (платёжное поручение, банковский ордер, …) of a statement."""

    line: int
    kind: str
    number: str
    # `dt.date` in this class: the field `date` shadows the type for the annotations below it
    date: dt.date
    amount: Decimal
    payer_account: str
    payer_inn: str
    payer_name: str
    payee_account: str
    payee_inn: str
    payee_name: str
    received: dt.date | None     # ДатаПоступило
    debited: dt.date | None      # ДатаСписано
    purpose: str


@dataclass(frozen=True)
class BankStatement:
    format_version: str
    accounts: tuple[str, ...]
    documents: tuple[StatementDocument, ...]


@dataclass(frozen=True)
class Payment:
    """An incoming payment to one of our accounts; `key` identifies it across statements."""

    key: str
    number: str
    date: dt.date
    amount: Decimal
    payer_inn: str
    payer_name: str
    purpose: str
    account: str


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    dos = "кодировка=dos" in data[:2000].decode("cp866", errors="replace").lower()
    return data.decode("cp866" if dos else "cp1251", errors="replace")


Fields = dict[str, tuple[int, str]]   # key → (line number, value)
_T = TypeVar("_T")


def _text(fields: Fields, key: str) -> str:
    return fields.get(key, (0, ""))[1]


def _party_name(fields: Fields, role: str) -> str:
    return _text(fields, f"{role}1") or _INN_PREFIX.sub("", _text(fields, role)).strip()


# One pass over the lines with the open section as its state: a branch per key the format defines, which
# reads more plainly in one place than split across helpers passing that state around.
def parse_statement(data: bytes) -> BankStatement | StatementFailure:  # noqa: PLR0912
    lines = _decode(data).splitlines()
    errors: list[StatementError] = []
    if not lines or lines[0].strip().lstrip("\ufeff") != FIRST_LINE:
        first = lines[0][:60] if lines else ""
        return StatementFailure((StatementError(1, "", first, f"первая строка должна быть {FIRST_LINE}"),))
    header: dict[str, str] = {}
    accounts: list[str] = []
    documents: list[StatementDocument] = []
    section: tuple[str, int, Fields] | None = None   # kind, first line, fields
    for number, raw in enumerate(lines[1:], start=2):
        text = raw.strip()
        if not text:
            continue
        if text == "КонецФайла":
            break
        key, sep, value = text.partition("=")
        key, value = key.strip(), value.strip()
        if key in ("СекцияДокумент", "СекцияРасчСчет"):
            if section is not None:
                errors.append(StatementError(section[1], section[0], "", "секция не закрыта"))
            section = (value if key == "СекцияДокумент" else "СекцияРасчСчет", number, {})
        elif key in ("КонецДокумента", "КонецРасчСчет") and section is not None:
            kind, start, fields = section
            if key == "КонецДокумента":
                parsed = _document(kind, start, fields, errors)
                if parsed is not None:
                    documents.append(parsed)
            elif _text(fields, "РасчСчет"):
                accounts.append(_text(fields, "РасчСчет"))
            section = None
        elif not sep:
            errors.append(StatementError(number, text[:40], "", "строка без знака «=»"))
        elif section is not None:
            section[2][key] = (number, value)
        else:
            header[key] = value
            if key == "РасчСчет":
                accounts.append(value)
    if section is not None:
        errors.append(StatementError(section[1], section[0], "", "секция не закрыта до конца файла"))
    if errors:
        return StatementFailure(tuple(errors))
    return BankStatement(header.get("ВерсияФормата", ""), tuple(dict.fromkeys(accounts)), tuple(documents))


def _document(
    kind: str, start: int, fields: Fields, errors: list[StatementError]
) -> StatementDocument | None:
    problems = len(errors)

    def value(key: str, parse: Callable[[str], _T], required: bool = True) -> _T | None:
        line, text = fields.get(key, (start, ""))
        if not text:
            if required:
                errors.append(StatementError(line, key, "", "обязательное поле не заполнено"))
            return None
        try:
            return parse(text)
        except ValueError as exc:
            errors.append(StatementError(line, key, text, str(exc)))
            return None

    number = value("Номер", str)
    when = value("Дата", parse_date)
    amount = value("Сумма", parse_decimal)
    received = value("ДатаПоступило", parse_date, required=False)
    debited = value("ДатаСписано", parse_date, required=False)
    if len(errors) > problems or number is None or when is None or amount is None:
        return None   # a required field that is None has its error in `errors` already
    purpose = " ".join(
        _text(fields, k) for k in ("НазначениеПлатежа", *(f"НазначениеПлатежа{i}" for i in range(1, 7)))
        if _text(fields, k)
    )
    return StatementDocument(
        line=start, kind=kind, number=number, date=when, amount=amount,
        payer_account=_text(fields, "ПлательщикСчет") or _text(fields, "ПлательщикРасчСчет"),
        payer_inn=_text(fields, "ПлательщикИНН"), payer_name=_party_name(fields, "Плательщик"),
        payee_account=_text(fields, "ПолучательСчет") or _text(fields, "ПолучательРасчСчет"),
        payee_inn=_text(fields, "ПолучательИНН"), payee_name=_party_name(fields, "Получатель"),
        received=received, debited=debited, purpose=purpose,
    )


def incoming_payments(
    documents: Sequence[StatementDocument], own_accounts: Collection[str]
) -> tuple[Payment, ...]:
    """Credits to our accounts; our own outgoing payments and bank fees are not payments to us."""
    return tuple(
        Payment(
            key=f"{doc.number}|{doc.date.isoformat()}|{doc.payee_account}|{doc.amount}|{doc.payer_account}",
            number=doc.number, date=doc.date, amount=doc.amount, payer_inn=doc.payer_inn,
            payer_name=doc.payer_name, purpose=doc.purpose, account=doc.payee_account,
        )
        for doc in documents
        if doc.payee_account in own_accounts and doc.payer_account not in own_accounts
    )
