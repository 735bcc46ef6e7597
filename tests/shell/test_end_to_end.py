"""The running daemon on real folders: samples in, 1C XML, PDFs and mails out; bad files quarantined."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from benchmarks.generate import charges_csv
from daemon import outputs
from daemon.cli import main
from tests.edschema import validate_message
from tests.workspaces import files_in, make_workspace, pdf_text, wait_for

pytestmark = pytest.mark.slow


def _log_events(log_path: Path) -> list[dict]:
    return [
        json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.startswith("{")
    ]


def _documents(ws) -> list[tuple]:
    with sqlite3.connect(ws.state_path) as conn:
        return conn.execute("SELECT kind, number, inn, total FROM documents ORDER BY kind, number").fetchall()


def test_charges_samples_through_the_daemon(running, shared_samples, specs_dir, smtp_server):
    """Both ISP exports dropped into inbox/charges give valid 1C XML, readable PDFs and client mails."""
    ws, proc, log_path = running
    csv = shared_samples / "charges" / "isp_charges_2026-11.csv"
    xlsx = shared_samples / "charges" / "isp_charges_2026-10.xlsx"
    for sample in (csv, xlsx):
        shutil.copy(sample, ws.inbox("charges") / sample.name)
    wait_for(lambda: len(files_in(ws.root / "archive")) == 2, what="both files archived")

    messages = files_in(ws.outbox("1c"), "*.xml")
    assert len(messages) == 2
    for message in messages:
        assert validate_message(message.read_bytes(), "1.20", specs_dir) == []

    invoice = ws.root / "documents" / "6674085940" / "2026-11" / "Счет_2611-00004.pdf"
    text = pdf_text(invoice)
    for expected in (
        "2611-00004",
        'ООО "Гранит"',
        "6674085940",
        "ул. 8 Марта, д. 58",
        "10 632,67",
        "СеверНет",
    ):
        assert expected in text, expected
    act_text = pdf_text(ws.root / "documents" / "661909802738" / "2026-11" / "Акт_2611-00003.pdf")
    assert "2 020,33" in act_text and "ул. Советская, д. 42, оф. 9" in act_text

    clients = 25 + 12  # distinct ИНН with an e-mail in the CSV and in the XLSX
    wait_for(lambda: len(smtp_server.messages) >= clients, what="client mails")
    mail = next(
        m for m in smtp_server.messages if m["To"] == "buh3@client3.ru" and "2611-00004" in m["Subject"]
    )
    names = sorted(part.get_filename() for part in mail.iter_attachments())
    assert names == ["Акт_2611-00004.pdf", "Счет_2611-00004.pdf"]
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "на сумму 10\u00a0632,67 руб." in body and "10632.67" not in body  # as the PDF prints it

    processed = [e for e in _log_events(log_path) if e["event"] == "file.processed"]
    assert [e["outcome"] for e in processed] == ["accepted", "accepted"]
    assert proc.poll() is None


def test_bad_file_is_quarantined_with_every_error(running, shared_samples):
    """Wrong ИНН checksum and text in an amount: quarantined, both named, nothing else changes."""
    ws, proc, _ = running
    good = shared_samples / "charges" / "isp_charges_2026-11.csv"
    text = good.read_bytes().decode("cp1251")
    bad = text.replace("6672002970", "6672002971", 1).replace(";6900,00;6900,00;", ";6900,00;шесть;", 1)
    (ws.inbox("charges") / "bad charges.csv").write_bytes(bad.encode("cp1251"))
    report_path = ws.quarantine("charges") / "bad charges.csv.errors.json"
    kept = ws.quarantine("charges") / "bad charges.csv"
    wait_for(lambda: report_path.exists() and kept.exists(), what="quarantined file and its report")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    reasons = {(e["line"], e["column"]) for e in report["errors"]}
    assert (4, "ИНН") in reasons and (5, "Сумма") in reasons
    assert kept.read_bytes() == bad.encode("cp1251")
    assert _documents(ws) == []

    shutil.copy(good, ws.inbox("charges") / good.name)  # the daemon is still working
    wait_for(lambda: len(files_in(ws.root / "archive")) == 1, what="good file archived")
    assert len(_documents(ws)) == 50
    assert proc.poll() is None


def test_a_large_file_gives_1c_messages_in_parts_of_whole_contracts(tmp_path, specs_dir, monkeypatch):
    """Outputs are made part by part (memory stays flat); a part never splits a contract's invoice and act."""
    monkeypatch.setattr(outputs, "DOCUMENTS_PER_MESSAGE", 3)
    ws = make_workspace(tmp_path / "ws")
    (ws.inbox("charges") / "month.csv").write_bytes(charges_csv(contracts=5, services_per_contract=2))
    assert main(["process", "-w", str(ws.root)]) == 0
    messages = files_in(ws.outbox("1c"), "*.xml")
    stems = sorted(m.stem for m in messages)  # 5 contracts × 2 documents, parts of at least 3: 4 + 4 + 2
    assert len(stems) == 3 and stems[0] + "-p2" == stems[1] and stems[0] + "-p3" == stems[2]
    for message in messages:
        text = message.read_bytes()
        assert validate_message(text, "1.20", specs_dir) == []
        assert text.count("<Документ.ЗаказКлиента>".encode()) == text.count(
            "<Документ.РеализацияТоваровУслуг>".encode()
        )
    assert sum(m.read_bytes().count("<Документ.ЗаказКлиента>".encode()) for m in messages) == 5
    assert len(files_in(ws.root / "documents", "*.pdf")) == 10
