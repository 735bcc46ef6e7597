"""JSON of the records kept in SQLite, and back: Decimal as text, dates ISO (shell)."""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

from daemon.core.documents import Document, DocumentKind, DocumentLine
from daemon.core.money import VatRate
from daemon.core.records import BankAccount, Contract, Counterparty, LegalForm
from daemon.core.sources.acceptances import PaymentOrder


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__}")


def dumps(record: Any) -> str:
    """A dataclass as canonical JSON (sorted keys, so equal records give equal text)."""
    return json.dumps(asdict(record), default=_json_default, ensure_ascii=False, sort_keys=True)


def iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def counterparty_from_dict(data: dict[str, Any]) -> Counterparty:
    bank = data.get("bank")
    return Counterparty(
        **{**data, "legal_form": LegalForm(data["legal_form"]), "bank": BankAccount(**bank) if bank else None}
    )


def counterparty_from_json(text: str) -> Counterparty:
    return counterparty_from_dict(json.loads(text))


def _vat_rate(data: dict[str, Any]) -> VatRate:
    return VatRate(None if data["percent"] is None else Decimal(data["percent"]))


def _contract(data: dict[str, Any]) -> Contract:
    return Contract(**{**data, "date": _date(data["date"])})


def payment_order_from_json(text: str) -> PaymentOrder:
    data = json.loads(text)
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


def _line(data: dict[str, Any]) -> DocumentLine:
    amounts = {name: Decimal(data[name]) for name in ("quantity", "price", "net", "vat", "gross")}
    return DocumentLine(**{**data, **amounts, "vat_rate": _vat_rate(data["vat_rate"])})


def document_from_json(text: str) -> Document:
    data = json.loads(text)
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
            "lines": tuple(_line(line) for line in data["lines"]),
        }
    )
