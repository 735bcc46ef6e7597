"""Planning invoices and acts from charge records."""
from dataclasses import replace
from datetime import date
from decimal import Decimal

from daemon.core.documents import (
    DocumentKind,
    DocumentPlan,
    InvoiceDate,
    IssuedDocument,
    IssueRules,
    line_fingerprint,
)
from daemon.core.money import NO_VAT, VatRate
from daemon.core.records import ChargeRecord, Counterparty, LegalForm
from daemon.core.report import RowError
from daemon.core.sources.charges import Ledger, plan_charge_documents

NOV = date(2026, 11, 1)
LEGAL = "620000, г. Екатеринбург, ул. Мира, д. 1"
SALES_TAX = (DocumentKind.INVOICE, DocumentKind.ACT, DocumentKind.TAX_INVOICE)
WITH_UPD = (DocumentKind.INVOICE, DocumentKind.UPD)
DEC1 = date(2026, 12, 1)   # the day the plans are made: November closed
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


def issue(records, ledger=EMPTY, issue_rules=None, today=DEC1):
    """The plan of `records` made on `today`."""
    return plan_charge_documents(records, ledger, issue_rules or rules(), today)


def vat_rules(kinds=SALES_TAX, rate="22", **overrides) -> IssueRules:
    """Rules issuing `kinds` with a default VAT rate."""
    formats = dict.fromkeys(kinds, "{period:%y%m}-{seq:05}")
    return rules(kinds=kinds, number_formats=formats, default_vat=VatRate(Decimal(rate)), **overrides)


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
    plan = plan_of(issue(records, EMPTY, rules()))
    invoices = [d for d in plan.documents if d.kind is DocumentKind.INVOICE]
    assert [(d.contract.number, d.number, d.total) for d in invoices] == [
        ("Д-2", "2611-00001", Decimal("7150.00")),
        ("Д-1", "2611-00002", Decimal("3500.00")),
    ]
    act = next(d for d in plan.documents if d.kind is DocumentKind.ACT and d.contract.number == "Д-2")
    assert act.date == date(2026, 11, 30) and act.related_number == "2611-00001"
    assert invoices[0].date == DEC1 and invoices[0].due_date == date(2026, 12, 11)


def test_line_text_carries_address_and_partial_period():
    """A service connected mid-month says so, with its connection address."""
    record = charge(4, "Д-1", "6672002970", "5005", "570.33", active_from=date(2026, 11, 2))
    doc = plan_of(issue([record], EMPTY, rules())).documents[0]
    assert "с 02.11.2026 по 30.11.2026" in doc.lines[0].text
    assert "ул. Ленина, д. 4" in doc.lines[0].text


def test_vat_on_top_totals_are_sums_of_rounded_lines():
    """22 % on top of 0.05 three times: 0.01 per line, 0.03 in total (not 0.033 rounded once)."""
    records = [charge(r, "Д-1", "6672002970", f"s{r}", "0.05") for r in (4, 5, 6)]
    doc = plan_of(
        issue(records, EMPTY, rules(default_vat=VatRate(Decimal(22)), vat_included=False))
    ).documents[0]
    assert doc.vat == Decimal("0.03") and doc.total == Decimal("0.18")


def test_sequences_continue_from_the_ledger():
    """Numbers continue gaplessly after those already issued in the same scope."""
    ledger = Ledger(counterparties={}, issued={}, sequences={(DocumentKind.INVOICE, "2611-\x00"): 41})
    plan = plan_of(issue([charge(4, "Д-1", "6672002970", "1", "10")], ledger, rules()))
    assert plan.documents[0].number == "2611-00042"
    assert plan.sequences[(DocumentKind.INVOICE, "2611-\x00")] == 42


def test_unchanged_reexport_is_skipped_and_changed_one_is_an_error():
    """Re-dropping an issued period: same lines are skipped, changed sums are reported."""
    first = plan_of(issue([charge(4, "Д-1", "6672002970", "1", "10")], EMPTY, rules()))
    issued = {
        (d.kind, d.contract.number, d.counterparty.inn, d.period_start): _issued(d) for d in first.documents
    }
    ledger = Ledger(counterparties={}, issued=issued, sequences=first.sequences)
    again = plan_of(issue([charge(4, "Д-1", "6672002970", "1", "10")], ledger, rules()))
    assert again.documents == () and len(again.skipped) == 2
    other_client = plan_of(
        issue([charge(4, "Д-1", "6673317299", "1", "11")], ledger, rules())
    )
    assert len(other_client.documents) == 2  # another billing's «Д-1», another client
    changed = issue([charge(4, "Д-1", "6672002970", "1", "11")], ledger, rules())
    assert isinstance(changed, tuple) and all(isinstance(e, RowError) for e in changed)
    assert "уже выставлен" in changed[0].reason


def _issued(doc):
    return IssuedDocument(
        doc.kind, doc.number, doc.contract.number, doc.period_start, line_fingerprint(doc.lines), doc.total
    )


def test_too_long_number_is_a_row_error():
    """A number over 11 characters would abort the 1C load: the file is refused, naming the row."""
    fmt = "{account}-{period:%m%y}-{seq}"
    result = issue(
        [charge(7, "Д-1", "6672002970", "1", "10")],
        EMPTY,
        rules(number_formats={DocumentKind.INVOICE: fmt, DocumentKind.ACT: fmt}),
    )
    assert isinstance(result, tuple) and result[0].line == 7 and "11" in result[0].reason


def test_known_counterparty_is_updated_field_by_field():
    """Newer data changes the card; the change lists old and new values."""
    known = Counterparty("6672002970", "667001001", 'ООО "Ромашка"', LegalForm.LEGAL, email="old@client.ru")
    ledger = Ledger(counterparties={known.inn: known}, issued={}, sequences={})
    plan = plan_of(issue([charge(4, "Д-1", "6672002970", "1", "10")], ledger, rules()))
    assert plan.new_counterparties == ()
    assert plan.changed_counterparties[0].changes == {"email": ("old@client.ru", "buh@client.ru")}


def test_contract_with_two_inns_is_an_error():
    """All rows of a contract must name the same ИНН."""
    result = issue(
        [charge(4, "Д-1", "6672002970", "1", "10"), charge(5, "Д-1", "6677276935", "2", "10")]
    )
    assert isinstance(result, tuple) and result[0].line == 5


def test_tax_invoice_points_at_the_act():
    """A счёт-фактура is linked to the act of its contract and period, the act to the invoice."""
    fmt = "{period:%y%m}-{seq:05}"
    kinds = (DocumentKind.INVOICE, DocumentKind.ACT, DocumentKind.TAX_INVOICE)
    ledger = Ledger(counterparties={}, issued={}, sequences={(DocumentKind.ACT, "2611-\x00"): 6})
    vat_rules = rules(kinds=kinds, number_formats=dict.fromkeys(kinds, fmt), default_vat=VatRate(Decimal(22)))
    plan = plan_of(issue([charge(4, "Д-1", "6672002970", "1", "10", buyer_address=LEGAL)], ledger, vat_rules))
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
        issue(
            [charge(4, "Д-1", "6672002970", "1", "10")],
            Ledger({}, {}, {}),
            rules(kinds=kinds, number_formats=dict.fromkeys(kinds, fmt)),
        )
    )
    assert [d.kind for d in plan.documents] == [DocumentKind.INVOICE, DocumentKind.ACT]


def test_tax_invoice_without_buyer_address_is_refused():
    """A счёт-фактура without the buyer's address (ст. 169 НК РФ) is a row error naming the contract."""
    result = issue([charge(4, "Д-1", "6672002970", "1", "10")], issue_rules=vat_rules())
    assert isinstance(result, tuple)
    (error,) = result
    assert (error.line, error.column) == (4, "Юридический адрес")
    assert "Д-1" in error.reason and "адрес" in error.reason and "169" in error.reason


def test_status_1_upd_needs_the_address_and_status_2_does_not():
    """A УПД with VAT (status 1) needs the buyer's address; one without VAT (status 2) does not."""
    record = charge(4, "Д-1", "6672002970", "1", "10")
    assert isinstance(issue([record], issue_rules=vat_rules(WITH_UPD)), tuple)
    no_vat = rules(kinds=WITH_UPD, number_formats=dict.fromkeys(WITH_UPD, "{period:%y%m}-{seq:05}"))
    assert [d.kind for d in plan_of(issue([record], issue_rules=no_vat)).documents] == list(WITH_UPD)


def test_buyer_address_from_the_file_or_the_card():
    """The address comes from the export's column, or else from the counterparty's card in the ledger."""
    from_file = plan_of(issue([charge(4, "Д-1", "6672002970", "1", "10", buyer_address=LEGAL)],
                              issue_rules=vat_rules()))
    assert {d.counterparty.address for d in from_file.documents} == {LEGAL}
    card = Counterparty("6672002970", "667001001", 'ООО "Ромашка"', LegalForm.LEGAL, address=LEGAL)
    ledger = Ledger(counterparties={card.inn: card}, issued={}, sequences={})
    from_card = plan_of(issue([charge(4, "Д-1", "6672002970", "1", "10")], ledger, vat_rules()))
    tax_invoice = next(d for d in from_card.documents if d.kind is DocumentKind.TAX_INVOICE)
    assert tax_invoice.counterparty.address == LEGAL


def test_contract_date_from_the_file_or_the_ledger():
    """The contract's date comes from the export, or else from the contract the ledger knows."""
    dated = date(2021, 3, 15)
    from_file = plan_of(issue([charge(4, "Д-1", "6672002970", "1", "10", contract_date=dated)]))
    assert from_file.contracts[0].date == dated and from_file.documents[0].contract.date == dated
    ledger = Ledger({}, {}, {}, contract_dates={("Д-1", "6672002970"): dated})
    from_ledger = plan_of(issue([charge(4, "Д-1", "6672002970", "1", "10")], ledger))
    assert {d.contract.date for d in from_ledger.documents} == {dated}
    assert plan_of(issue([charge(4, "Д-1", "6672002970", "1", "10")])).contracts[0].date is None


def test_vat_rate_that_did_not_exist_in_the_period_is_a_row_error():
    """20 % for a 2026 period, 18 % after 2018 and 22 % before 2026 are refused; 22 % in 2026 is not."""
    record = charge(9, "Д-1", "6672002970", "1", "10", buyer_address=LEGAL)
    for rate, period in (("20", NOV), ("18", date(2020, 5, 1)), ("22", date(2025, 12, 1))):
        result = issue([replace(record, period=period)], issue_rules=vat_rules(rate=rate))
        assert isinstance(result, tuple), rate
        assert (result[0].line, result[0].column, result[0].value) == (9, "Ставка НДС", f"{rate}%")
    assert isinstance(issue([record], issue_rules=vat_rules(rate="22")), DocumentPlan)
    assert isinstance(issue([replace(record, period=date(2025, 12, 1))], issue_rules=vat_rules(rate="20")),
                      DocumentPlan)


def test_zero_total_contract_gets_no_documents_and_no_numbers():
    """A contract whose period sums to 0,00 is listed instead of issued; the others keep gapless numbers."""
    records = [
        charge(4, "Д-0", "6677276935", "1", "0.00"),
        charge(5, "Д-0", "6677276935", "2", "0.00"),
        charge(6, "Д-1", "6672002970", "3", "10"),
    ]
    plan = plan_of(issue(records))
    assert {d.contract.number for d in plan.documents} == {"Д-1"}
    assert [d.number for d in plan.documents] == ["2611-00001", "2611-00001"]
    assert [(z.contract, z.inn, z.period_start, z.row) for z in plan.zero_totals] == [
        ("Д-0", "6677276935", NOV, 4)
    ]


def test_invoice_date_policy_and_due_date():
    """«issue» dates the invoice the day it is made, «period_start» the 1st; the due date is counted from
    the invoice date but never falls due sooner than payment_days after the day of issue."""
    record = charge(4, "Д-1", "6672002970", "1", "10")
    on_issue = plan_of(issue([record])).documents
    assert (on_issue[0].date, on_issue[0].due_date) == (DEC1, date(2026, 12, 11))
    assert (on_issue[1].kind, on_issue[1].date) == (DocumentKind.ACT, date(2026, 11, 30))
    in_time = plan_of(issue([record], issue_rules=rules(invoice_date=InvoiceDate.PERIOD_START),
                            today=NOV)).documents[0]
    assert (in_time.date, in_time.due_date) == (NOV, date(2026, 11, 11))
    late = plan_of(issue([record], issue_rules=rules(invoice_date=InvoiceDate.PERIOD_START))).documents[0]
    assert (late.date, late.due_date) == (NOV, date(2026, 12, 11))
