"""Annulling an issued document (аннулирование): which one a number names, and whether it may go (core).

A cancelled document keeps its number for good (sequences are never wound back); it leaves payments,
reminders and the payout registry, 1C gets an УдалениеОбъекта for it, and its PDF is marked.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from daemon.core.documents import DocumentKind
from daemon.core.formats import format_date, format_roubles
from daemon.core.sources.acceptances import PaymentOrder

KIND_NAMES = {
    DocumentKind.INVOICE: "счёт",
    DocumentKind.ACT: "акт",
    DocumentKind.UPD: "УПД",
    DocumentKind.TAX_INVOICE: "счёт-фактура",
    DocumentKind.AGENT_ACT: "акт агента",
    DocumentKind.PAYMENT_ORDER: "платёжное поручение",
}


@dataclass(frozen=True)
class Cancellation:
    """A document annulled by the operator, with the reason printed on its PDF."""

    kind: DocumentKind
    number: str
    date: date              # the document's own date
    inn: str
    total: Decimal
    reason: str
    cancelled_at: datetime

    @property
    def mark(self) -> str:
        """«АННУЛИРОВАН 25.11.2026: <reason>», as the PDF shows it."""
        return f"АННУЛИРОВАН {format_date(self.cancelled_at.date())}: {self.reason}"


@dataclass(frozen=True)
class Candidate:
    """A document the ledger holds under the number asked for, and what could stop its annulment."""

    kind: DocumentKind
    number: str
    date: date
    inn: str
    total: Decimal
    cancelled: Cancellation | None = None
    finished: bool = True           # its file's outputs are all written (else a retry would unmark them)
    paid: Decimal = Decimal("0.00")  # payments matched to an invoice
    order_number: str | None = None  # the live payment order paying an agent's act


@dataclass(frozen=True)
class Refused:
    """Why nothing was cancelled, for the operator."""

    reason: str


def _named(kind: DocumentKind, number: str) -> str:
    return f"{KIND_NAMES[kind]} № {number}"


def choose_cancellation(number: str, kind: DocumentKind | None, candidates: list[Candidate], reason: str,
                        now: datetime) -> Cancellation | Refused:
    """The one live document `number` (of `kind`, if given) names, cancelled now, or why not."""
    reason = " ".join(reason.split())
    if not reason:
        return Refused("укажите причину аннулирования (--reason)")
    found = [c for c in candidates if kind is None or c.kind is kind]
    if not found:
        what = _named(kind, number) if kind else f"документ № {number}"
        return Refused(f"{what} не найден среди выпущенных")
    live = [c for c in found if c.cancelled is None]
    done = [c.cancelled for c in found if c.cancelled is not None]
    if not live:
        return Refused(f"{_named(done[0].kind, number)}: {done[0].mark}; повторно аннулировать нельзя")
    if len(live) > 1:
        kinds = ", ".join(f"{KIND_NAMES[c.kind]} (--kind {c.kind.value})" for c in live)
        return Refused(f"номер {number} есть у нескольких документов: {kinds}; укажите --kind")
    doc = live[0]
    blocker = _blocker(doc)
    if blocker:
        return Refused(blocker)
    return Cancellation(doc.kind, doc.number, doc.date, doc.inn, doc.total, reason, now)


def _blocker(doc: Candidate) -> str | None:
    """What must happen before this live document can be annulled, if anything."""
    if not doc.finished:
        return (f"{_named(doc.kind, doc.number)} ещё выпускается (файл не обработан до конца): "
                "повторите после billdrop process")
    if doc.paid > 0:
        return (f"по счёту № {doc.number} уже зачтена оплата {format_roubles(doc.paid)}: "
                "аннулирование не вернёт платёж")
    if doc.order_number is not None:
        return (f"акт агента № {doc.number} уже оплачивается платёжным поручением № {doc.order_number}: "
                f"сначала аннулируйте его (billdrop cancel {doc.order_number} --kind payment_order)")
    return None


def revocation_note(order: PaymentOrder, cancellation: Cancellation) -> str:
    """The text for the bank operator: 1CClientBankExchange has no revocation, so a person must act."""
    bank = order.payee.bank
    account = f"счёт {bank.account}, БИК {bank.bik}" if bank else "счёт не указан"
    return (
        f"ОТЗЫВ ПЛАТЁЖНОГО ПОРУЧЕНИЯ № {order.number} от {format_date(order.date)}\n\n"
        f"Получатель: {order.payee.name}, ИНН {order.payee.inn}, {account}\n"
        f"Сумма: {format_roubles(order.amount)}\n"
        f"Назначение: {order.purpose}\n\n"
        f"{cancellation.mark}\n\n"
        "Если поручение уже отправлено в банк, отзовите его в банк-клиенте. Если ещё не отправлено, "
        "удалите его из загруженных в банк-клиент документов и не загружайте снова.\n"
    )
