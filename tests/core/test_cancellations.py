"""Which document a number names for annulment, and what refuses it (pure)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from daemon.core.cancellations import Cancellation, Candidate, Refused, choose_cancellation
from daemon.core.documents import DocumentKind

NOW = datetime(2026, 12, 2, 10, 0)
INVOICE = Candidate(DocumentKind.INVOICE, "2611-00001", date(2026, 11, 1), "6672002970", Decimal("3500.00"))
ACT = Candidate(DocumentKind.ACT, "2611-00001", date(2026, 11, 30), "6672002970", Decimal("3500.00"))


def _refusal(result: Cancellation | Refused) -> str:
    assert isinstance(result, Refused), result
    return result.reason


def test_kind_chooses_among_documents_sharing_a_number():
    """An invoice and an act numbered alike: --kind picks one, stamped now with the reason."""
    chosen = choose_cancellation("2611-00001", DocumentKind.ACT, [INVOICE, ACT], " ошибка  в сумме ", NOW)
    assert chosen == Cancellation(DocumentKind.ACT, "2611-00001", ACT.date, ACT.inn, ACT.total,
                                  "ошибка в сумме", NOW)


def test_a_shared_number_without_kind_is_refused():
    """Without --kind, a number two documents carry is refused, naming both kinds."""
    reason = _refusal(choose_cancellation("2611-00001", None, [INVOICE, ACT], "x", NOW))
    assert "--kind invoice" in reason and "--kind act" in reason


def test_unknown_number_is_refused():
    """A number no document carries is refused."""
    reason = _refusal(choose_cancellation("999", None, [], "x", NOW))
    assert reason == "документ № 999 не найден среди выпущенных"


def test_already_cancelled_is_refused_with_its_mark():
    """A document cancelled before is refused, saying when and why."""
    done = Cancellation(ACT.kind, ACT.number, ACT.date, ACT.inn, ACT.total, "дубль", NOW)
    candidate = Candidate(ACT.kind, ACT.number, ACT.date, ACT.inn, ACT.total, cancelled=done)
    reason = _refusal(choose_cancellation(ACT.number, None, [candidate], "x", NOW))
    assert "АННУЛИРОВАН 02.12.2026: дубль" in reason


def test_paid_invoice_is_refused():
    """An invoice with a payment matched to it stays: annulling it would not return the money."""
    paid = Candidate(INVOICE.kind, INVOICE.number, INVOICE.date, INVOICE.inn, INVOICE.total, paid=Decimal(10))
    assert "оплата 10,00 руб." in _refusal(choose_cancellation(INVOICE.number, None, [paid], "x", NOW))


def test_agent_act_with_a_live_order_is_refused():
    """An agent's act being paid asks for its payment order to be cancelled first."""
    act = Candidate(DocumentKind.AGENT_ACT, "А2611-0001", date(2026, 11, 20), "7710951927", Decimal(1),
                    order_number="260001")
    assert "billdrop cancel 260001 --kind payment_order" in _refusal(
        choose_cancellation(act.number, None, [act], "x", NOW))


def test_blank_reason_is_refused():
    """A reason is required: it is printed on the PDF."""
    assert "--reason" in _refusal(choose_cancellation(ACT.number, None, [ACT], "  ", NOW))
