"""BGBilling via the running daemon: invoice + УПД per contract, `<account>-<MMYY>-<seq>` numbers, ФНС XML."""
from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
import xmlschema
from lxml import etree

from daemon.cli import main
from tests.edschema import validate_message
from tests.workspaces import ROOT, files_in, make_workspace, pdf_text, wait_for

pytestmark = pytest.mark.slow
SAMPLE = "bgb_narabotka_2026-11.csv"
# The shipped copy: it has the buyers' legal addresses a status-1 УПД needs (the shared one predates them).
SAMPLE_PATH = ROOT / "samples" / "bgbilling" / SAMPLE


def _numbers(ws) -> list[tuple[str, str, str]]:
    with sqlite3.connect(ws.state_path) as conn:
        return conn.execute("SELECT kind, number, total FROM documents ORDER BY kind, number").fetchall()


def test_bgbilling_sample_through_the_daemon(running, specs_dir):
    ws, proc, _ = running
    shutil.copy(SAMPLE_PATH, ws.inbox("bgbilling"))
    wait_for(lambda: len(files_in(ws.root / "archive")) == 1, what="the export archived")

    numbers = _numbers(ws)
    # 10 contracts: an invoice and a УПД each; «Итого по договору» lines not charged
    assert len(numbers) == 20
    assert ("upd", "4114-1126-1", "2040.00") in numbers and ("invoice", "4114-1126-1", "2040.00") in numbers
    assert all(len(number) <= 11 for _, number, _ in numbers)

    upd = pdf_text(ws.root / "documents" / "666741559487" / "2026-11" / "УПД_4114-1126-1.pdf")
    for expected in (
        "4114-1126-1",
        "6670000014/667001001",
        "666741559487",
        "Аренда статического",
        "IP-телефония",
        "Видеонаблюдение, облачный архив 30 дней",
        "22%",
        "45,08",
        "367,86",
        "2 040,00",
    ):
        assert expected in upd, expected

    schema = xmlschema.XMLSchema(specs_dir / "fns" / "ON_NSCHFDOPPR_1_997_01_05_03_05.xsd")
    edo = files_in(ws.outbox("edo"), "*.xml")
    assert len(edo) == 10
    for path in edo:
        schema.validate(path.read_bytes().decode("cp1251").split("?>", 1)[1])
        assert etree.parse(str(path)).getroot().get("ИдФайл") == path.stem
    (message,) = files_in(ws.outbox("1c"), "*.xml")
    assert validate_message(message.read_bytes(), "1.20", specs_dir) == []
    assert message.read_text(encoding="utf-8").count("<ЭтоУПД>true</ЭтоУПД>") == 10
    assert proc.poll() is None


def test_re_export_skips_unchanged_and_reports_changed_contracts(tmp_path):
    """The same period again with one new contract: only it is issued; a changed sum is refused, naming it."""
    ws = make_workspace(tmp_path / "ws")
    original = SAMPLE_PATH.read_bytes().decode("cp1251")
    (ws.inbox("bgbilling") / SAMPLE).write_bytes(original.encode("cp1251"))
    assert main(["process", "-w", str(ws.root)]) == 0
    issued = _numbers(ws)

    added = original + (
        'Д-2026/160;4170;"ООО ""Север""";6672002970;;Аренда статического IP-адреса;250,00;'
        "01.11.2026-30.11.2026;01.11.2026;620000, г. Екатеринбург, ул. Мира, д. 1\n"
        "Д-2026/160;4170;Итого по договору;;;;250,00;;;\n"
    )
    (ws.inbox("bgbilling") / "again.csv").write_bytes(added.encode("cp1251"))
    assert main(["process", "-w", str(ws.root)]) == 0
    assert sorted(set(_numbers(ws)) - set(issued)) == [
        ("invoice", "4170-1126-1", "250.00"),
        ("upd", "4170-1126-1", "250.00"),
    ]

    changed = original.replace(
        "buh3@client3.ru;IP-телефония, номер (343) 2xx-xx-xx;590,00",
        "buh3@client3.ru;IP-телефония, номер (343) 2xx-xx-xx;600,00",
    )
    changed = changed.replace(
        "Д-2024/153;4121;Итого по договору;;;;590,00;", "Д-2024/153;4121;Итого по договору;;;;600,00;"
    )
    assert changed.count("600,00") == 2
    (ws.inbox("bgbilling") / "changed.csv").write_bytes(changed.encode("cp1251"))
    assert main(["process", "-w", str(ws.root)]) == 1
    report = json.loads((ws.quarantine("bgbilling") / "changed.csv.errors.json").read_text(encoding="utf-8"))
    assert {e["value"] for e in report["errors"]} == {"Д-2024/153"}
    assert "4121-1126-1" in report["errors"][0]["reason"]
    assert len(_numbers(ws)) == len(issued) + 2

    # reconciliation: a contract total that disagrees with its lines, to the kopeck
    off = original.replace(
        "Д-2022/156;4142;Итого по договору;;;;3500,00;", "Д-2022/156;4142;Итого по договору;;;;3500,01;"
    )
    (ws.inbox("bgbilling") / "off.csv").write_bytes(off.encode("cp1251"))
    assert main(["process", "-w", str(ws.root)]) == 1
    (error,) = json.loads((ws.quarantine("bgbilling") / "off.csv.errors.json").read_text(encoding="utf-8"))[
        "errors"
    ]
    assert (error["column"], error["value"]) == ("Итого", "3500.01")
    assert "3\u00a0500,00 руб." in error["reason"]
