"""What validation lets through, every output can hold: the extremes of each cell through `process`.

A row is valid or refused by the parsers in daemon/core/cells.py; here the largest amounts, the longest
texts and every class of character they allow go through check, process and every renderer (1C, ФНС XML,
PDF, mail), so that "valid" and "renderable" cannot drift apart again.
"""
from __future__ import annotations

import csv
import io
import subprocess
from email import policy
from email.parser import BytesParser

import pytest
import xmlschema

from daemon.cli import main
from daemon.core.cells import MAX_LINE_AMOUNT, MAX_QUANTITY
from daemon.core.cleaning import TEXT_LIMIT, clean_text
from tests.edschema import validate_message
from tests.workspaces import files_in, make_workspace

pytestmark = pytest.mark.slow

HEADERS = [
    "Договор", "Лицевой счет", "Клиент", "ИНН", "КПП", "Email", "ID сервиса", "Адрес подключения", "Услуга",
    "Период", "Дата подключения", "Дата отключения", "Абонплата", "Сумма", "Ставка НДС", "Количество",
    "Юридический адрес", "Дата договора", "Код услуги",
]
# Cyrillic with Ё and «», Latin with diacritics, markup and quote characters, №, currency and other symbols,
# CJK, Greek, an emoji outside the BMP, a combining accent, a private-use character, a no-break space, and
# the invisible characters validation removes (zero-width space, bidi override, soft hyphen, BOM).
MIX = (
    "ООО «Ёлка» Ïñtérnätiönål & <Co> \"Q\" 'R' №1 ₽€© ½∑ 中文 Ελληνικά 😀 e\u0301 \ue000 "
    "a\u00a0b \u200bz\u202ey\u00adx\ufeff "
)
LONGEST = MIX * (TEXT_LIMIT // len(MIX) + 2)


def _longest(prefix: str, limit: int = TEXT_LIMIT) -> str:
    """As long as a cell of `limit` characters may be once validation has removed the invisible
    characters and folded spaces."""
    def length(text: str) -> int:
        try:
            return len(clean_text(text))
        except ValueError:   # over TEXT_LIMIT
            return TEXT_LIMIT + 1

    text = prefix
    for char in LONGEST:
        if length(text + char + "Я") > limit:
            assert length(text + "Я") == limit
            return text + "Я"
        text += char
    raise AssertionError("LONGEST is shorter than the limit")


def _export() -> bytes:
    amount = f"{MAX_LINE_AMOUNT}".replace(".", ",")
    rows = [
        [_longest("Д-", 255), "999999", _longest("ООО "), "6672002970", "667001001", "buh@client.ru", "1",
         _longest("г. "), _longest("Услуга "), "11.2026", "", "", amount, amount, "22%", "",
         _longest("620000, "), "31.12.1999", _longest("К", 100)],
        [_longest("Д-", 255), "999999", _longest("ООО "), "6672002970", "667001001", "buh@client.ru", "2",
         _longest("г. "), "Вторая услуга", "11.2026", "", "", amount, amount, "22%", "",
         _longest("620000, "), "31.12.1999", "2"],
        ["Д-2", "2", "ИП Малый Пётр Ильич", "500100732259", "", "ip@client.ru", "3", "г. Тверь", "Трафик, ГБ",
         "11.2026", "", "", "", "0,01", "22%", f"{MAX_QUANTITY}".replace(".", ","),
         "170000, г. Тверь, ул. Советская, д. 1", "", ""],
    ]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


@pytest.mark.parametrize("documents", [["invoice", "upd"], ["invoice", "act", "tax_invoice"]])
def test_the_extremes_validation_accepts_render_everywhere(tmp_path, specs_dir, documents, capsys):
    ws = make_workspace(tmp_path / "ws")
    config = ws.config_path.read_text(encoding="utf-8")
    config = config.replace('documents = ["invoice", "act"]', f"documents = {documents!r}".replace("'", '"'))
    ws.config_path.write_text(config.replace('vat = "без НДС"', 'vat = "22%"', 1), encoding="utf-8")
    export = tmp_path / "extremes.csv"
    export.write_bytes(_export())

    assert main(["check", str(export), "--source", "charges", "-w", str(ws.root)]) == 0, capsys.readouterr()
    (ws.inbox("charges") / export.name).write_bytes(export.read_bytes())
    assert main(["process", "-w", str(ws.root)]) == 0
    assert files_in(ws.root / "work") == [] and files_in(ws.root / "quarantine") == []

    (message,) = files_in(ws.outbox("1c"), "*.xml")
    assert validate_message(message.read_bytes(), "1.20", specs_dir) == []
    assert "199999999999.98" in message.read_text(encoding="utf-8")   # two lines at the largest amount

    fns = xmlschema.XMLSchema(specs_dir / "fns" / "ON_NSCHFDOPPR_1_997_01_05_03_05.xsd")
    edo = files_in(ws.outbox("edo"), "*.xml")
    assert len(edo) == 2
    for path in edo:
        fns.validate(path.read_bytes().decode("cp1251").split("?>", 1)[1])

    pdfs = files_in(ws.root / "documents", "*.pdf")
    assert len(pdfs) == 2 * len(documents)
    for pdf in pdfs:
        # pdftotext, not pypdf: pypdf reads this font subset (CJK, emoji, .notdef) back as garbage
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
        assert "Ёлка" in text or "Тверь" in text or "Малый" in text, pdf.name

    mails = files_in(ws.root / "mail", "*.eml")
    assert len(mails) == 2
    for path in mails:
        mail = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert "\n" not in mail["Subject"] and len(list(mail.iter_attachments())) == len(documents)
