"""`billdrop cancel`: an issued document annulled in the ledger, for 1C, on its PDF and for the bank."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.workspace import Workspace
from tests.edschema import validate_message
from tests.workspaces import ROOT, files_in, make_workspace, pdf_text

pytestmark = pytest.mark.slow
ISSUED = ("charges/isp_charges_2026-11.csv", "bgbilling/bgb_narabotka_2026-11.csv",
          "payouts/payouts_2026-11-20.csv", "payouts/payout_90101.csv", "acceptances/accepted_2026-11-22.csv")
MERIDIAN = "7710951927"  # the agent of payouts 90001 (act А2611-0001, order 260001) and 90101 (А2611-0009)


@pytest.fixture(scope="module")
def issued_once(tmp_path_factory) -> Path:
    """A workspace with invoices, acts, УПД, agents' acts and payment orders, issued once per module."""
    ws = make_workspace(tmp_path_factory.mktemp("issued") / "ws")
    for sample in ISSUED:
        source, name = sample.split("/")
        shutil.copy(ROOT / "samples" / sample, ws.inbox(source) / name)   # the shipped samples
        assert main(["process", "-w", str(ws.root)]) == 0
    return ws.root


@pytest.fixture
def ws(issued_once, tmp_path) -> Workspace:
    shutil.copytree(issued_once, tmp_path / "ws")
    return Workspace(tmp_path / "ws")


def _query(ws: Workspace, sql: str, *args: str) -> list[tuple]:
    with sqlite3.connect(ws.state_path) as conn:
        return conn.execute(sql, args).fetchall()


def _status(ws: Workspace, capsys) -> dict:
    capsys.readouterr()
    assert main(["status", "-w", str(ws.root), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _deletions(ws: Workspace) -> list[Path]:
    return files_in(ws.outbox("1c"), "ED_*_cancel_*.xml")


def _first(ws: Workspace, kind: str) -> str:
    if kind == "payment_order":
        return _query(ws, "SELECT MIN(number) FROM payment_orders")[0][0]
    return _query(ws, "SELECT MIN(number) FROM documents WHERE kind = ?", kind)[0][0]


@pytest.mark.parametrize("kind", ["invoice", "act", "upd", "agent_act", "payment_order"])
def test_cancel_each_kind(kind, ws, capsys, specs_dir):
    """Each kind is recorded, listed in status, and sent to 1C as a valid УдалениеОбъекта."""
    number = _first(ws, kind)
    if kind == "agent_act":  # the first act is being paid: take the agent's act no order pays
        number = _query(ws, "SELECT MIN(act_number) FROM payouts WHERE order_number IS NULL")[0][0]
    assert main(["cancel", number, "--kind", kind, "--reason", "ошибка в сумме", "-w", str(ws.root)]) == 0
    (deletion,) = _deletions(ws)
    assert validate_message(deletion.read_bytes(), "1.20", specs_dir) == []
    assert "<УдалениеОбъекта>" in deletion.read_text(encoding="utf-8")
    assert [(c["kind"], c["number"], c["reason"]) for c in _status(ws, capsys)["cancelled"]] == [
        (kind, number, "ошибка в сумме")
    ]


def test_cancelled_pdf_is_kept_and_marked(ws):
    """The act's PDF stays where it was, printed again under «АННУЛИРОВАН <date>: <reason>»."""
    number = _first(ws, "act")
    (pdf,) = files_in(ws.root / "documents", f"Акт_{number}.pdf")
    assert main(["cancel", number, "--kind", "act", "--reason", "дубль", "-w", str(ws.root)]) == 0
    assert pdf_text(pdf).startswith("АННУЛИРОВАН") and f"дубль Акт № {number}" in pdf_text(pdf)


def test_cancelled_invoice_leaves_reminders_and_status(ws, capsys):
    """A cancelled invoice is no longer open: status (and so reminders and matching) no longer see it."""
    number = _first(ws, "invoice")
    assert number in [i["number"] for i in _status(ws, capsys)["open_invoices"]]
    assert main(["cancel", number, "--kind", "invoice", "--reason", "не та услуга", "-w", str(ws.root)]) == 0
    assert number not in [i["number"] for i in _status(ws, capsys)["open_invoices"]]


def test_numbers_are_not_reused(ws):
    """Sequences stay where they were: the next document after a cancellation gets a new number."""
    sequences = _query(ws, "SELECT * FROM sequences ORDER BY kind, scope")
    assert main(["cancel", "А2611-0009", "--reason", "повтор", "-w", str(ws.root)]) == 0
    assert _query(ws, "SELECT * FROM sequences ORDER BY kind, scope") == sequences


def test_unknown_and_already_cancelled_exit_2(ws, capsys):
    """An unknown number and a second cancellation exit 2 with a Russian reason, changing nothing."""
    assert main(["cancel", "999999", "--reason", "x", "-w", str(ws.root)]) == 2
    assert "документ № 999999 не найден" in capsys.readouterr().err
    assert main(["cancel", "А2611-0009", "--reason", "первый раз", "-w", str(ws.root)]) == 0
    assert main(["cancel", "А2611-0009", "--reason", "второй", "-w", str(ws.root)]) == 2
    assert "повторно аннулировать нельзя" in capsys.readouterr().err
    assert len(_deletions(ws)) == 1
    assert _query(ws, "SELECT reason FROM cancellations") == [("первый раз",)]


def test_shared_number_needs_kind(ws, capsys):
    """An invoice and an act numbered alike are not guessed between: exit 2 asking for --kind."""
    number = _first(ws, "act")
    assert main(["cancel", number, "--reason", "x", "-w", str(ws.root)]) == 2
    assert "укажите --kind" in capsys.readouterr().err and not _deletions(ws)


def _payout(shared_samples: Path, payout_id: str, day: str) -> str:
    """payout_90101.csv (Меридиан) as another payout id and date."""
    text = (shared_samples / "payouts" / "payout_90101.csv").read_text(encoding="utf-8")
    return text.replace("90101,", f"{payout_id},").replace("2026-11-24,", f"{day},")


def _agent_periods(ws: Workspace) -> list[tuple]:
    return _query(ws, "SELECT number, period_start, period_end FROM documents d WHERE kind = 'agent_act' "
                      "AND inn = ? AND NOT EXISTS (SELECT 1 FROM cancellations c WHERE c.number = d.number) "
                      "ORDER BY number", MERIDIAN)


def test_cancelled_agent_act_frees_its_period(ws, shared_samples):
    """With the agent's last act cancelled, the next payout's act starts where the last valid one ended."""
    assert main(["cancel", "А2611-0009", "--reason", "неверная сумма", "-w", str(ws.root)]) == 0
    next_payout = _payout(shared_samples, "90102", "2026-11-28")
    (ws.inbox("payouts") / "next.csv").write_text(next_payout, encoding="utf-8")
    assert main(["process", "-w", str(ws.root)]) == 0
    assert _agent_periods(ws) == [("А2611-0001", "2026-03-01", "2026-11-20"),
                                  ("А2611-0010", "2026-11-21", "2026-11-28")]


def test_cancelled_agent_act_payout_can_be_issued_again(ws, shared_samples):
    """The payout id of a cancelled act is issued again, under a new number, and registered with it."""
    assert main(["cancel", "А2611-0009", "--reason", "неверная сумма", "-w", str(ws.root)]) == 0
    (ws.inbox("payouts") / "again.csv").write_text(_payout(shared_samples, "90101", "2026-11-24") + "\n",
                                                  encoding="utf-8")
    assert main(["process", "-w", str(ws.root)]) == 0
    assert _query(ws, "SELECT act_number FROM payouts WHERE payout_id = '90101'") == [("А2611-0010",)]


def test_cancelled_payment_order_frees_its_payout(ws, shared_samples):
    """A cancelled order leaves a revocation note for the bank, and the payout can be accepted again."""
    assert main(["cancel", "260001", "--reason", "не тот счёт", "-w", str(ws.root)]) == 0
    (note,) = files_in(ws.outbox("bank"), "ОТЗЫВ_*.txt")
    text = note.read_text(encoding="utf-8")
    assert "ОТЗЫВ ПЛАТЁЖНОГО ПОРУЧЕНИЯ № 260001" in text and "АННУЛИРОВАН" in text and "не тот счёт" in text
    again = "payout_id,accepted_at\n90001,2026-11-25T10:00:00+05:00\n"
    (ws.inbox("acceptances") / "again.csv").write_text(again, encoding="utf-8")
    assert main(["process", "-w", str(ws.root)]) == 0
    assert _query(ws, "SELECT number FROM payment_orders WHERE payout_id = '90001'") == [("260003",)]
