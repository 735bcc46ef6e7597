"""УПД and счёт-фактура print forms: landscape A4, the official rows and columns, read back from the PDF."""
from __future__ import annotations

from decimal import Decimal

from pypdf import PdfReader

from daemon.core.documents import Document, DocumentKind
from daemon.core.formats import format_money, format_quantity
from daemon.core.money import NO_VAT, VatRate, to_kopecks
from daemon.core.units import okei_code
from tests.render.test_enterprisedata import ROMASHKA, SIDOROV, document, line, sample_documents
from tests.render.test_pdf import render_text

VAT22 = VatRate(Decimal(22))


def text_of(value: str) -> str:
    """As pdf_text reads it back: NBSP folded to a space."""
    return value.replace("\u00a0", " ")


def money(value: Decimal) -> str:
    return text_of(format_money(value))


def line_cells(doc: Document) -> list[str]:
    """Each line's columns 1а–14 as the form prints them for a service, in reading order (мес is ОКЕИ 362)."""
    cells = []
    for ln in doc.lines:
        rate, vat = ("без НДС", "без НДС") if ln.vat_rate.exempt else (ln.vat_rate.label, money(ln.vat))
        price = money(to_kopecks(ln.net / ln.quantity))
        cells.append(
            f"{ln.text} -- {okei_code(ln.unit) or '--'} {ln.unit} {format_quantity(ln.quantity)} {price} "
            f"{money(ln.net)} без акциза {rate} {vat} {money(ln.gross)}{' --' * 7}"
        )
    return cells


def total_row(doc: Document) -> str:
    vat = "без НДС" if doc.vat_exempt else money(doc.vat)
    return f"Всего к оплате (9) {money(doc.net)} X {vat} {money(doc.total)}"


def is_landscape(path) -> bool:
    return all(page.mediabox.width > page.mediabox.height for page in PdfReader(path).pages)


def test_upd_status_1_with_vat(renderer, company, tmp_path):
    """A 22 % УПД: status 1, both sides' ИНН/КПП, every line's columns, the totals in columns 5, 8 and 9."""
    doc = sample_documents(VAT22)[4]
    text = render_text(renderer, doc, company, tmp_path)
    for expected in (
        "Универсальный передаточный документ Статус: 1",
        "Счет-фактура № 2611-00003 от 30 ноября 2026 г. (1)",
        "ИНН/КПП продавца 6670000014/667001001 (2б)",
        "ИНН/КПП покупателя 6672002970/667001001 (6б)",
        "Грузоотправитель и его адрес -- (3)",
        "Грузополучатель и его адрес -- (4)",
        "Документ об отгрузке № п/п 1–2 № 2611-00003 от 30.11.2026 (5а)",
        "Российский рубль, 643 (7)",
        "А 1 1а 1б 2 2а 3 4 5 6 7 8 9 10 10а 11 12 12а 13 14",
        *line_cells(doc),
        total_row(doc),
        "Основание передачи (сдачи) / получения (приемки) Договор № Д-2021/150 от 15.03.2021",
        "Дата отгрузки, передачи (сдачи) 30 ноября 2026 г. [11]",
        'ООО "СеверНет", ИНН/КПП 6670000014/667001001',
    ):
        assert expected in text, expected
    assert "Всего к оплате (9) 1 250,00 X 275,00 1 525,00" in text
    assert is_landscape(tmp_path / "upd-2611-00003.pdf")


def test_upd_status_2_without_vat(renderer, company, tmp_path):
    """An УПД «без НДС» for an ИП: status 2, «без НДС» in columns 7 and 8 and the total, ИНН without КПП."""
    doc = document(
        DocumentKind.UPD, "2611-00005", SIDOROV, (line(1, "570.33", NO_VAT), line(2, "100.00", NO_VAT))
    )
    text = render_text(renderer, doc, company, tmp_path)
    for expected in ("Статус: 2", "ИНН/КПП покупателя 661909802738 (6б)", *line_cells(doc), total_row(doc)):
        assert expected in text, expected
    assert "Всего к оплате (9) 670,33 X без НДС 670,33" in text and "Статус: 1" not in text


def test_price_without_vat_rounds_half_up(renderer, company, tmp_path):
    """With VAT included, column 4 is the net price per unit, rounded half up: 100,01 for 2 units is 50,01."""
    doc = document(DocumentKind.UPD, "2611-00006", ROMASHKA, (line(1, "122.01", VAT22, quantity="2"),))
    text = render_text(renderer, doc, company, tmp_path)
    assert "мес 2 50,01 100,01 без акциза 22% 22,00 122,01" in text


def test_long_upd_repeats_the_header_and_adds_up(renderer, company, tmp_path):
    """40 lines run over several landscape pages, each repeating the column header; the total is the sum."""
    doc = document(
        DocumentKind.UPD, "2611-00040", ROMASHKA, tuple(line(i, f"{100 + i}.50", VAT22) for i in range(1, 41))
    )
    text = render_text(renderer, doc, company, tmp_path)
    pages = PdfReader(tmp_path / "upd-2611-00040.pdf").pages
    table_pages = [p for p in pages if "ул. Ленина, д." in (p.extract_text() or "")]
    assert len(table_pages) >= 2
    assert all(
        "А 1 1а 1б 2 2а 3 4 5 6 7 8 9" in " ".join((p.extract_text() or "").split()) for p in table_pages
    )
    for expected in line_cells(doc):
        assert expected in text, expected
    gross = sum(Decimal(f"{100 + i}.50") for i in range(1, 41))
    assert total_row(doc).endswith(money(gross)) and text.count("Всего к оплате") == 1
    assert text.index(total_row(doc)) > text.index(line_cells(doc)[-1])
    assert is_landscape(tmp_path / "upd-2611-00040.pdf")


def test_tax_invoice_names_its_act(renderer, company, tmp_path):
    """A счёт-фактура: no status box, row 5а names the act; lines, totals, head's and accountant's names."""
    doc = sample_documents(VAT22)[5]
    text = render_text(renderer, doc, company, tmp_path)
    for expected in (
        "Счет-фактура № 2611-00001 от 30 ноября 2026 г. (1)",
        "К платежно-расчетному документу (5)",
        "Документ об отгрузке № п/п 1–4 № 2611-00001 от 30.11.2026 (5а)",
        "ИНН/КПП продавца 6670000014/667001001",
        "ИНН/КПП покупателя 6672002970/667001001",
        "1 1а 1б 2 2а 3 4 5 6 7 8 9 10 10а 11 12 12а 13 14",
        *line_cells(doc),
        total_row(doc),
        "Руководитель организации или иное уполномоченное лицо Иванов И. И.",
        "Главный бухгалтер или иное уполномоченное лицо Петрова А. С.",
    ):
        assert expected in text, expected
    assert "Статус" not in text and "Всего к оплате (9) 1 649,90 X 341,00 1 990,90" in text
    assert is_landscape(tmp_path / "tax_invoice-2611-00001.pdf")
