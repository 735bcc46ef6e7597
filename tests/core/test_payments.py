"""Payments matched to invoices, as the bank sample's README expects."""
from datetime import date
from decimal import Decimal

from daemon.core.bankstatement import BankStatement, StatementFailure, incoming_payments, parse_statement
from daemon.core.sources.bank import OpenInvoice, invoice_status, match_payments, numbers_in_purpose

OUR_ACCOUNT = "40702810016540012345"
INVOICES = [
    OpenInvoice("2611-00001", "6672002970", date(2026, 11, 1), Decimal("3500.00"), Decimal(0)),
    OpenInvoice("2611-00002", "6677276935", date(2026, 11, 1), Decimal("7150.00"), Decimal(0)),
    OpenInvoice("2611-00003", "661909802738", date(2026, 11, 1), Decimal("2020.33"), Decimal(0)),
    OpenInvoice("2611-00004", "6674085940", date(2026, 11, 1), Decimal("10632.67"), Decimal(0)),
    OpenInvoice("2611-00005", "0274853498", date(2026, 11, 1), Decimal("1200.00"), Decimal(0)),
    OpenInvoice("2611-00006", "669644592893", date(2026, 11, 1), Decimal("16500.00"), Decimal(0)),
]


def sample_payments(shared_samples):
    statement = parse_statement((shared_samples / "bank" / "kl_to_1c_2026-11.txt").read_bytes())
    assert isinstance(statement, BankStatement)
    return statement, incoming_payments(statement.documents, {OUR_ACCOUNT})


def test_sample_statement_parses(shared_samples):
    """Nine documents; seven incoming; our payment 42 and the bank fee order 3 are not payments to us."""
    statement, payments = sample_payments(shared_samples)
    assert len(statement.documents) == 9 and statement.accounts == (OUR_ACCOUNT,)
    assert [p.number for p in payments] == ["700", "701", "702", "703", "704", "705", "811"]


def test_sample_matches_the_readme(shared_samples):
    """00001–00003 and 00006 paid by number, 00004 partly, 00005 by ИНН, 100.00 balance, 811 unmatched."""
    _, payments = sample_payments(shared_samples)
    result = match_payments(payments, INVOICES, seen_keys=(), known_inns={i.inn for i in INVOICES})
    paid = {}
    for allocation in result.allocations:
        paid[allocation.invoice_number] = paid.get(allocation.invoice_number, 0) + allocation.amount
    statuses = {
        i.number: invoice_status(i.total, paid.get(i.number, 0), date(2026, 11, 11), date(2026, 11, 30))
        for i in INVOICES
    }
    assert statuses == {
        "2611-00001": "paid",
        "2611-00002": "paid",
        "2611-00003": "paid",
        "2611-00004": "overdue",
        "2611-00005": "paid",
        "2611-00006": "paid",
    }
    assert paid["2611-00004"] == Decimal("5316.34")
    rules = {a.invoice_number: a.rule for a in result.allocations}
    assert rules["2611-00005"] == "inn_oldest" and rules["2611-00003"] == "number"
    assert result.balances == {"669644592893": Decimal("100.00")}
    assert [p.number for p in result.unmatched] == ["811"]


def test_seen_payment_changes_nothing(shared_samples):
    """A payment already recorded is a duplicate, not a second payment."""
    _, payments = sample_payments(shared_samples)
    result = match_payments(payments, INVOICES, seen_keys={p.key for p in payments}, known_inns=())
    assert result.allocations == () and len(result.duplicates) == len(payments)


def test_numbers_are_tokens_not_substrings():
    """2611-00001 is not found inside 2611-000012; several numbers are paid in the order written."""
    invoices = {i.number: i for i in INVOICES}
    assert numbers_in_purpose("оплата 2611-000012", invoices, []) == []
    found = numbers_in_purpose("Оплата счетов 2611 – 00002, сч.2611-00001", invoices, [])
    assert [i.number for i in found] == ["2611-00002", "2611-00001"]


def test_short_number_only_among_the_payers_invoices():
    """«счёт 4» means the payer's invoice ending in 4; dates and other digits are not numbers."""
    own = [INVOICES[3]]
    assert numbers_in_purpose("Оплата по счёту № 4 от 01.11.2026", {}, own) == own
    assert numbers_in_purpose("Оплата по договору от 04.11.2026", {}, own) == []


def test_broken_statement_names_line_and_key():
    """A bad amount is reported with its line and key; a wrong first line is refused."""
    data = (
        "1CClientBankExchange\nСекцияДокумент=Платежное поручение\nНомер=1\nДата=01.11.2026\nСумма=abc\n"
        "КонецДокумента\n"
    )
    failure = parse_statement(data.encode("cp1251"))
    assert isinstance(failure, StatementFailure)
    assert (failure.errors[0].line, failure.errors[0].key, failure.errors[0].value) == (5, "Сумма", "abc")
    assert isinstance(parse_statement(b"garbage"), StatementFailure)


def test_utf8_statement_declared_windows_and_cp866():
    """Real files lie about their encoding: UTF-8 is tried first; DOS means cp866."""
    text = (
        "1CClientBankExchange\nКодировка={}\nСекцияДокумент=Платежное поручение\nНомер=1\nДата=01.11.2026\n"
        "Сумма=5.00\nПлательщик1=ООО Ромашка\nКонецДокумента\nКонецФайла\n"
    )
    for encoding, declared in (("utf-8", "Windows"), ("cp866", "DOS")):
        statement = parse_statement(text.format(declared).encode(encoding))
        assert isinstance(statement, BankStatement) and statement.documents[0].payer_name == "ООО Ромашка"
