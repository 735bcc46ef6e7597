"""Mail templates: sums, dates and counts written as the print forms write them."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from daemon.config import builtin_dir
from daemon.core.documents import DocumentKind
from daemon.core.money import VatRate
from daemon.core.reminders import InvoiceDue
from daemon.core.report import FileReport, RowError
from daemon.mail_queue import MailComposer, mail_templates
from tests.render.test_enterprisedata import ROMASHKA, document, line
from tests.render.test_pdf import render_text

NBSP = "\u00a0"
VAT22 = VatRate(Decimal(22))


@pytest.fixture(scope="module")
def mails():
    return mail_templates(builtin_dir("templates") / "mail")


def test_client_mail_shows_the_sum_and_date_as_the_pdf(mails, company, renderer, tmp_path):
    """«на сумму 10 632,67 руб.» with the PDF's no-break space, and «от 01.11.2026»; never «10632.67»."""
    invoice = document(DocumentKind.INVOICE, "2611-00004", ROMASHKA, (line(1, "10632.67", VAT22),))
    text = mails.get_template("client_documents.txt.j2").render(
        company=company, documents=[invoice], counterparty=ROMASHKA, period="ноябрь 2026")
    assert f"Счёт на оплату № 2611-00004 от 01.11.2026 на сумму 10{NBSP}632,67 руб." in text
    assert "10632.67" not in text
    assert "10 632,67" in render_text(renderer, invoice, company, tmp_path)  # pdf_text folds NBSP to a space


@pytest.mark.parametrize(("errors", "subject"), [(1, "(1 ошибка)"), (3, "(3 ошибки)"), (21, "(21 ошибка)"),
                                                 (25, "(25 ошибок)"), (112, "(112 ошибок)")])
def test_quarantine_notice_counts_errors_in_russian(mails, company, errors, subject):
    """The subject and the «… и ещё» line take the plural their count needs."""
    report = FileReport.for_rows("bad.csv", "charges", [RowError(n, "ИНН", "1", "ИНН: неверная") for n in
                                                        range(2, errors + 2)])
    text = mails.get_template("file_rejected.txt.j2").render(company=company, report=report)
    assert text.partition("\n")[0] == f"billdrop: файл «bad.csv» отклонён {subject}"
    more = {21: "… и ещё 1 ошибка;", 25: "… и ещё 5 ошибок;", 112: "… и ещё 92 ошибки;"}.get(errors)
    assert (more in text) if more else ("и ещё" not in text)


def test_file_level_rejection_is_one_error(mails, company):
    """A file that cannot be read: «(1 ошибка)», not «(1 ошибок)»."""
    report = FileReport.for_file("f.xlsx", "charges", "файл XLSX повреждён")
    text = mails.get_template("file_rejected.txt.j2").render(company=company, report=report)
    subject = text.partition("\n")[0]
    assert subject == "billdrop: файл «f.xlsx» отклонён (1 ошибка)"


def _invoice(total: str, paid: str) -> InvoiceDue:
    return InvoiceDue("2611-00004", ROMASHKA.inn, "ООО «Ромашка»", "buh@romashka.ru", None, date(2026, 11, 1),
                      date(2026, 12, 2), Decimal(total), Decimal(paid), date(2026, 11, 1))


def test_reminder_and_digest_write_sums_and_dates_alike(mails, company):
    """Reminders and the manager's digest: «5 316,33 руб.» and «02.12.2026», as the documents' mail does."""
    reminder = mails.get_template("reminder.txt.j2").render(
        company=company, invoice=_invoice("10632.67", "5316.34"), reminder=None
    )
    assert f"на сумму 10{NBSP}632,67 руб. нужно было оплатить до 02.12.2026" in reminder
    assert f"Оплачено 5{NBSP}316,34 руб., осталось 5{NBSP}316,33 руб." in reminder
    digest = mails.get_template("manager_digest.txt.j2").render(
        company=company, invoices=[_invoice("10632.67", "0"), _invoice("1000", "0")], today=date(2026, 12, 3))
    assert digest.startswith("Просроченные счета на 03.12.2026: 2")
    assert f"срок 02.12.2026, долг 10{NBSP}632,67 руб. из 10{NBSP}632,67 руб." in digest
    assert f"Итого долг: 11{NBSP}632,67 руб." in digest


def test_a_file_name_cannot_break_the_subject_line(mails, company):
    """CR/LF in a rejected file's name are shown escaped (as everywhere a name is shown): the subject the
    queue keeps and the mail carries stays one line."""
    composer = MailComposer(mails, company, "billdrop@severnet.example.ru")
    report = FileReport.for_file("a\r\nBcc: x@evil.example.csv", "charges", "файл пуст")
    subject, body = composer.render("file_rejected.txt.j2", report=report)
    assert subject == "billdrop: файл «a\\x0d\\x0aBcc: x@evil.example.csv» отклонён (1 ошибка)"
    assert body.startswith("Файл «a")
