"""Print forms: the text read back from the PDFs carries every number, name, address and total."""
from __future__ import annotations

import subprocess
from dataclasses import replace
from decimal import Decimal

from daemon.core.documents import DocumentKind
from daemon.core.money import VatRate
from daemon.core.records import Counterparty, LegalForm
from tests.render.test_enterprisedata import ROMASHKA, document, line, sample_documents
from tests.workspaces import pdf_text


def render_text(renderer, doc, company, tmp_path) -> str:
    path = tmp_path / f"{doc.kind.value}-{doc.number}.pdf"
    path.write_bytes(renderer.render(doc, company))
    return pdf_text(path)


def test_invoice_with_vat_on_top(renderer, company, tmp_path):
    """A 22 % invoice shows the bank block, both parties, each line's address, VAT and the total in words."""
    rate = VatRate(Decimal(22))
    doc = document(DocumentKind.INVOICE, "2611-00007", ROMASHKA,
                   (line(1, "1000.00", rate, included=False), line(2, "250.00", rate, included=False)),
                   included=False)
    text = render_text(renderer, doc, company, tmp_path)
    for expected in (
        "Счёт на оплату № 2611-00007 от 1 ноября 2026 г.", "044525225", "40702810016540012345",
        "ИНН 6672002970, КПП 667001001", 'ООО "Ромашка" <&> ]]>', "ул. Ленина, д. 1", "ул. Ленина, д. 2",
        "Сумма НДС: 275,00", "1 525,00", "Одна тысяча пятьсот двадцать пять рублей 00 копеек", "Иванов И. И.",
    ):
        assert expected in text, expected


def test_act_without_vat(renderer, company, tmp_path):
    """An act for an ИП «без НДС»: executor and customer, the period, «Без налога (НДС)»."""
    doc = sample_documents(VatRate(Decimal(22)))[3]
    text = render_text(renderer, replace(doc, kind=DocumentKind.ACT), company, tmp_path)
    for expected in (
        "Акт № 2611-00002 от 30 ноября 2026 г.",
        "ИП Сидоров Пётр Алексеевич",
        "ИНН 661909802738",
        "с 01.11.2026 по 30.11.2026",
        "Без налога (НДС)",
        "570,33",
        "ИСПОЛНИТЕЛЬ",
        "ЗАКАЗЧИК",
    ):
        assert expected in text, expected


def test_agent_act_swaps_the_roles(renderer, company, tmp_path):
    """In an agent's act the agent is the executor and our company the customer."""
    agent = Counterparty("501289446853", None, "Сидоров Пётр Алексеевич", LegalForm.SELF_EMPLOYED)
    doc = document(DocumentKind.AGENT_ACT, "2611-00001", agent, (line(1, "37847.00", VatRate(None)),))
    text = render_text(renderer, doc, company, tmp_path)
    executor = text.index("Исполнитель:")
    assert text.index("Сидоров Пётр Алексеевич") > executor
    assert text.index("Заказчик:") < text.index("СеверНет", executor + 30)


def test_same_document_same_bytes(renderer, company):
    """Rendering is deterministic: no creation date, a stable identifier."""
    doc = sample_documents(VatRate(Decimal(22)))[0]
    assert renderer.render(doc, company) == renderer.render(doc, company)


def test_act_signatures_are_labelled_on_both_sides(renderer, company, tmp_path):
    """The act says «Всего оказано услуг N, на сумму …»; each side's signature has its labelled lines, on
    one row; the quantity header is not broken into «Кол-/во»."""
    doc = sample_documents(VatRate(Decimal(22)))[1]
    path = tmp_path / "act.pdf"
    path.write_bytes(renderer.render(doc, company))
    text = pdf_text(path)
    assert f"Всего оказано услуг {len(doc.lines)}, на сумму 1 990,90 руб." in text
    assert "Всего наименований" not in text
    layout = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    assert any("Кол-во" in row for row in layout)
    (signers,) = [row for row in layout if "Иванов И. И." in row]
    assert signers.split() == [company.director_title.split()[0], *company.director_title.split()[1:],
                               "Иванов", "И.", "И."]
    (captions,) = [row for row in layout if "расшифровка подписи" in row]
    assert captions.split() == ["должность", "подпись", "расшифровка", "подписи"] * 2
    assert layout.index(captions) == layout.index(signers) + 1
    assert sum(row.split() == ["М.П.", "М.П."] for row in layout) == 1


def test_tax_invoice_prints_the_buyer_address(renderer, company, tmp_path):
    """Row (6а) of a счёт-фактура carries the buyer's address; (2а) ours."""
    doc = sample_documents(VatRate(Decimal(22)))[5]
    assert doc.kind is DocumentKind.TAX_INVOICE and doc.counterparty.address
    text = render_text(renderer, doc, company, tmp_path)
    assert f"Адрес {doc.counterparty.address} (6а)" in text
    assert f"Адрес {company.address} (2а)" in text
