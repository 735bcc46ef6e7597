"""The payout platform through the running daemon: agents' acts, PDFs for the platform, payment orders."""
from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from daemon.cli import main
from daemon.core.bankstatement import parse_statement
from tests.edschema import validate_message
from tests.workspaces import files_in, make_workspace, pdf_text, wait_for

pytestmark = pytest.mark.slow
NEW_ACCOUNT = "40702810200000012345"  # Меридиан's new account at the same bank (БИК 044525225)


def _cards(ws) -> dict[str, dict]:
    with sqlite3.connect(ws.state_path) as conn:
        return {inn: json.loads(card) for inn, card in conn.execute("SELECT inn, card FROM counterparties")}


def _events(log_path, name: str) -> list[dict]:
    lines = log_path.read_text(encoding="utf-8").splitlines()
    return [e for e in (json.loads(line) for line in lines if line.startswith("{")) if e["event"] == name]


def test_payouts_then_a_known_agent_then_acceptances(running, shared_samples, specs_dir, tmp_path):
    ws, proc, log_path = running
    shutil.copy(shared_samples / "payouts" / "payouts_2026-11-20.csv", ws.inbox("payouts"))
    wait_for(lambda: len(files_in(ws.outbox("platform"), "*.pdf")) == 8, what="eight acts for the platform")
    wait_for(lambda: len(files_in(ws.root / "archive")) == 1, what="payouts file archived")

    new_agent = pdf_text(ws.outbox("platform") / "90001.pdf")
    for expected in (
        "с 01.03.2026 по 20.11.2026",
        'ООО "Меридиан"',
        "7710951927",
        "78 427,00",
        "АД-7000",
        "ИСПОЛНИТЕЛЬ",
        "ЗАКАЗЧИК",
        'ООО "СеверНет"',
    ):
        assert expected in new_agent, expected
    assert (
        files_in(ws.root / "documents" / "7710951927", "*.pdf")[0].read_bytes()
        == (ws.outbox("platform") / "90001.pdf").read_bytes()
    )
    (message,) = files_in(ws.outbox("1c"), "*.xml")
    assert validate_message(message.read_bytes(), "1.20", specs_dir) == []
    assert message.read_text(encoding="utf-8").count("<Документ.ПоступлениеТоваровУслуг>") == 8
    # one service, not one per payout
    assert message.read_text(encoding="utf-8").count("<Справочник.Номенклатура>") == 1
    assert len(_cards(ws)) == 8

    # the same agent's next payout, with a new bank account: the card is updated, not duplicated
    later = (shared_samples / "payouts" / "payout_90101.csv").read_text(encoding="utf-8")
    (ws.inbox("payouts") / "payout_90101.csv").write_text(
        later.replace("40702810669436944628", NEW_ACCOUNT), encoding="utf-8"
    )
    wait_for((ws.outbox("platform") / "90101.pdf").exists, what="the known agent's act")
    known_agent = pdf_text(ws.outbox("platform") / "90101.pdf")
    assert "с 21.11.2026 по 24.11.2026" in known_agent and "12 345,67" in known_agent
    cards = _cards(ws)
    assert len(cards) == 8 and cards["7710951927"]["bank"]["account"] == NEW_ACCOUNT
    wait_for(lambda: _events(log_path, "counterparty.updated"), what="the change logged")
    (change,) = [e for e in _events(log_path, "counterparty.updated") if e["field"] == "bank"]
    assert "40702810669436944628" in change["old"] and NEW_ACCOUNT in change["new"]

    shutil.copy(shared_samples / "acceptances" / "accepted_2026-11-22.csv", ws.inbox("acceptances"))
    wait_for(lambda: files_in(ws.outbox("bank"), "*.txt"), what="the payment file for the bank")
    (bank_file,) = files_in(ws.outbox("bank"), "*.txt")
    statement = parse_statement(bank_file.read_bytes())
    assert sorted((str(d.amount), d.payee_inn) for d in statement.documents) == [
        ("37847.00", "501289446853"),
        ("78427.00", "7710951927"),
    ]
    assert {d.payer_inn for d in statement.documents} == {"6670000014"}
    assert bank_file.read_bytes().decode("cp1251").startswith("1CClientBankExchange")
    wait_for(lambda: len(files_in(ws.outbox("1c"), "*.xml")) == 3, what="the payment orders for 1C")
    orders_xml = max(files_in(ws.outbox("1c"), "*.xml"), key=lambda p: p.stat().st_mtime)
    assert validate_message(orders_xml.read_bytes(), "1.20", specs_dir) == []
    assert orders_xml.read_text(encoding="utf-8").count("<Документ.ПлатежноеПоручение>") == 2
    assert proc.poll() is None


def test_bad_requisites_and_unknown_acceptances_are_quarantined(tmp_path, shared_samples):
    """A bad ИНН, account key, a 10-digit ИНН without КПП are named; an acceptance of nothing is refused."""
    ws = make_workspace(tmp_path / "ws")
    sample = (shared_samples / "payouts" / "payouts_2026-11-20.csv").read_text(encoding="utf-8")
    bad = (
        sample.replace("7710951927", "7710951928")
        .replace("40802810375921131138", "40802810375921131139")
        .replace("7713386543,771301001", "7713386543,")
    )
    (ws.inbox("payouts") / "bad.csv").write_text(bad, encoding="utf-8")
    (ws.inbox("acceptances") / "early.csv").write_text(
        "payout_id,accepted_at\n77777,2026-11-21\n", encoding="utf-8"
    )
    assert main(["process", "-w", str(ws.root)]) == 1
    report = json.loads((ws.quarantine("payouts") / "bad.csv.errors.json").read_text(encoding="utf-8"))
    named = {(e["line"], e["column"]) for e in report["errors"]}
    assert {(2, "inn"), (3, "bank_account"), (5, "kpp")} <= named
    early = json.loads((ws.quarantine("acceptances") / "early.csv.errors.json").read_text(encoding="utf-8"))
    assert early["errors"][0]["value"] == "77777" and "не найдена" in early["errors"][0]["reason"]
    assert files_in(ws.outbox("platform")) == [] and files_in(ws.outbox("bank")) == []


def test_hostile_payout_ids_and_names_stay_inside_the_workspace(tmp_path, shared_samples):
    """A payout id `../../..`, a name that is a formula: files stay under outbox/platform, text stays text."""
    ws = make_workspace(tmp_path / "ws")
    sample = (shared_samples / "payouts" / "payout_90101.csv").read_text(encoding="utf-8")
    hostile = sample.replace("\n90101,", "\n../../../evil,").replace(
        '"ООО ""Меридиан"""', '"=HYPERLINK(""http://x"",""ООО <b>&"")"'
    )
    (ws.inbox("payouts") / "выплата ..csv").write_text(hostile, encoding="utf-8")
    assert main(["process", "-w", str(ws.root)]) == 0
    (pdf,) = files_in(ws.outbox("platform"))
    assert pdf.parent == ws.outbox("platform") and pdf.name == "_.._.._evil.pdf"
    assert 'HYPERLINK("http://x","ООО <b>&")' in pdf_text(pdf)
    assert [p for p in files_in(tmp_path) if not p.is_relative_to(ws.root)] == []
