"""Planning invoices and acts from charge records."""
from datetime import date
from decimal import Decimal

from daemon.core.documents import (
    DocumentKind,
    DocumentPlan,
    IssuedDocument,
    IssueRules,
    line_fingerprint,
)
from daemon.core.money import NO_VAT, VatRate
from daemon.core.records import ChargeRecord, Counterparty, LegalForm
from daemon.core.report import RowError
from daemon.core.sources.charges import Ledger, plan_charge_documents

NOV = date(2026, 11, 1)
EMPTY = Ledger(counterparties={}, issued={}, sequences={})


def rules(**overrides) -> IssueRules:
    base = {
        "kinds": (DocumentKind.INVOICE, DocumentKind.ACT),
        "number_formats": dict.fromkeys((DocumentKind.INVOICE, DocumentKind.ACT), "{period:%y%m}-{seq:05}"),
        "default_vat": NO_VAT,
        "vat_included": True,
        "payment_days": 10,
    }
    return IssueRules(**{**base, **overrides})


def charge(row: int, contract: str, inn: str, service: str, amount: str, **extra) -> ChargeRecord:
    fields = {
        "row": row, "contract": contract, "account": "100230", "client_name": 'ООО "Ромашка"', "inn": inn,
        "kpp": "667001001", "email": "buh@client.ru", "service_id": service,
        "address": f"г. Екатеринбург, ул. Ленина, д. {row}", "service_name": "Доступ в интернет",
        "period": NOV, "quantity": Decimal(1), "unit": "мес", "price": None, "amount": Decimal(amount),
        "vat_rate": None,
    }
    return ChargeRecord(**{**fields, **extra})


def plan_of(result) -> DocumentPlan:
    assert isinstance(result, DocumentPlan), result
    return result


def test_one_invoice_and_act_per_contract_in_file_order():
    """Contracts are numbered in the order they first appear; each gets an invoice and an act."""
    records = [
        charge(4, "Д-2", "6677276935", "5002", "6900.00"),
        charge(5, "Д-1", "6672002970", "5001", "3500.00"),
        charge(6, "Д-2", "6677276935", "5003", "250.00"),
    ]
    plan = plan_of(plan_charge_documents(records, EMPTY, rules()))
    invoices = [d for d in plan.documents if d.kind is DocumentKind.INVOICE]
    assert [(d.contract.number, d.number, d.total) for d in invoices] == [
        ("Д-2", "2611-00001", Decimal("7150.00")),
        ("Д-1", "2611-00002", Decimal("3500.00")),
    ]
    act = next(d for d in plan.documents if d.kind is DocumentKind.ACT and d.contract.number == "Д-2")
    assert act.date == date(2026, 11, 30) and act.related_number == "2611-00001"
    assert invoices[0].date == NOV and invoices[0].due_date == date(2026, 11, 11)


def test_line_text_carries_address_and_partial_period():
    """A service connected mid-month says so, with its connection address."""
    record = charge(4, "Д-1", "6672002970", "5005", "570.33", active_from=date(2026, 11, 2))
    doc = plan_of(plan_charge_documents([record], EMPTY, rules())).documents[0]
    assert "с 02.11.2026 по 30.11.2026" in doc.lines[0].text
    assert "ул. Ленина, д. 4" in doc.lines[0].text


def test_vat_on_top_totals_are_sums_of_rounded_lines():
    """22 % on top of 0.05 three times: 0.01 per line, 0.03 in total (not 0.033 rounded once)."""
    records = [charge(r, "Д-1", "6672002970", f"s{r}", "0.05") for r in (4, 5, 6)]
    doc = plan_of(
        plan_charge_documents(records, EMPTY, rules(default_vat=VatRate(Decimal(22)), vat_included=False))
    ).documents[0]
    assert doc.vat == Decimal("0.03") and doc.total == Decimal("0.18")


def test_sequences_continue_from_the_ledger():
    """Numbers continue gaplessly after those already issued in the same scope."""
    ledger = Ledger(counterparties={}, issued={}, sequences={(DocumentKind.INVOICE, "2611-\x00"): 41})
    plan = plan_of(plan_charge_documents([charge(4, "Д-1", "6672002970", "1", "10")], ledger, rules()))
    assert plan.documents[0].number == "2611-00042"
    assert plan.sequences[(DocumentKind.INVOICE, "2611-\x00")] == 42


def test_unchanged_reexport_is_skipped_and_changed_one_is_an_error():
    """Re-dropping an issued period: same lines are skipped, changed sums are reported."""
    first = plan_of(plan_charge_documents([charge(4, "Д-1", "6672002970", "1", "10")], EMPTY, rules()))
    issued = {
        (d.kind, d.contract.number, d.counterparty.inn, d.period_start): _issued(d) for d in first.documents
    }
    ledger = Ledger(counterparties={}, issued=issued, sequences=first.sequences)
    again = plan_of(plan_charge_documents([charge(4, "Д-1", "6672002970", "1", "10")], ledger, rules()))
    assert again.documents == () and len(again.skipped) == 2
    other_client = plan_of(
        plan_charge_documents([charge(4, "Д-1", "6673317299", "1", "11")], ledger, rules())
    )
    assert len(other_client.documents) == 2  # another billing's «Д-1», another client
    changed = plan_charge_documents([charge(4, "Д-1", "6672002970", "1", "11")], ledger, rules())
    assert isinstance(changed, tuple) and all(isinstance(e, RowError) for e in changed)
    assert "уже выставлен" in changed[0].reason


def _issued(doc):
    return IssuedDocument(
        doc.kind, doc.number, doc.contract.number, doc.period_start, line_fingerprint(doc.lines), doc.total
    )


def test_too_long_number_is_a_row_error():
    """A number over 11 characters would abort the 1C load: the file is refused, naming the row."""
    fmt = "{account}-{period:%m%y}-{seq}"
    result = plan_charge_documents(
        [charge(7, "Д-1", "6672002970", "1", "10")],
        EMPTY,
        rules(number_formats={DocumentKind.INVOICE: fmt, DocumentKind.ACT: fmt}),
    )
    assert isinstance(result, tuple) and result[0].line == 7 and "11" in result[0].reason


def test_known_counterparty_is_updated_field_by_field():
    """Newer data changes the card; the change lists old and new values."""
    known = Counterparty("6672002970", "667001001", 'ООО "Ромашка"', LegalForm.LEGAL, email="old@client.ru")
    ledger = Ledger(counterparties={known.inn: known}, issued={}, sequences={})
    plan = plan_of(plan_charge_documents([charge(4, "Д-1", "6672002970", "1", "10")], ledger, rules()))
    assert plan.new_counterparties == ()
    assert plan.changed_counterparties[0].changes == {"email": ("old@client.ru", "buh@client.ru")}


def test_contract_with_two_inns_is_an_error():
    """All rows of a contract must name the same ИНН."""
    result = plan_charge_documents(
        [charge(4, "Д-1", "6672002970", "1", "10"), charge(5, "Д-1", "6677276935", "2", "10")], EMPTY, rules()
    )
    assert isinstance(result, tuple) and result[0].line == 5


def test_tax_invoice_points_at_the_act():
    """A счёт-фактура is linked to the act of its contract and period, the act to the invoice."""
    fmt = "{period:%y%m}-{seq:05}"
    kinds = (DocumentKind.INVOICE, DocumentKind.ACT, DocumentKind.TAX_INVOICE)
    ledger = Ledger(counterparties={}, issued={}, sequences={(DocumentKind.ACT, "2611-\x00"): 6})
    vat_rules = rules(kinds=kinds, number_formats=dict.fromkeys(kinds, fmt), default_vat=VatRate(Decimal(22)))
    plan = plan_of(plan_charge_documents([charge(4, "Д-1", "6672002970", "1", "10")], ledger, vat_rules))
    by_kind = {d.kind: d for d in plan.documents}
    assert by_kind[DocumentKind.ACT].related_number == by_kind[DocumentKind.INVOICE].number == "2611-00001"
    assert (
        by_kind[DocumentKind.TAX_INVOICE].related_number == by_kind[DocumentKind.ACT].number == "2611-00007"
    )


def test_no_tax_invoice_without_vat():
    """A seller on УСН (lines без НДС) issues no счёт-фактура even when the source lists one."""
    kinds = (DocumentKind.INVOICE, DocumentKind.ACT, DocumentKind.TAX_INVOICE)
    fmt = "{period:%y%m}-{seq:05}"
    plan = plan_of(
        plan_charge_documents(
            [charge(4, "Д-1", "6672002970", "1", "10")],
            Ledger({}, {}, {}),
            rules(kinds=kinds, number_formats=dict.fromkeys(kinds, fmt)),
        )
    )
    assert [d.kind for d in plan.documents] == [DocumentKind.INVOICE, DocumentKind.ACT]
