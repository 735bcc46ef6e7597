"""Bank statements through the running daemon mark invoices paid; reminders go out once each."""
from __future__ import annotations

import shutil
import sqlite3
from datetime import date, timedelta

import pytest

from daemon.cli import main
from daemon.config import load_settings
from daemon.service import local_now, remind_once
from daemon.status import collect_status
from daemon.store import Store, mail
from tests.workspaces import files_in, make_workspace, wait_for

pytestmark = pytest.mark.slow
EXPECTED = {"2611-00001": "paid", "2611-00002": "paid", "2611-00003": "paid", "2611-00004": "partly",
            "2611-00005": "paid", "2611-00006": "paid"}


def _state(ws) -> tuple:
    with sqlite3.connect(ws.state_path) as conn:
        return tuple(
            conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
            for t in ("payments", "allocations", "balances")
        )


def test_statement_marks_the_readme_invoices_paid(running, shared_samples):
    """Charges, then the statement: 00001–00003, 00005, 00006 paid, 00004 partly, 100.00 kept, 811 named."""
    ws, proc, _ = running
    shutil.copy(shared_samples / "charges" / "isp_charges_2026-11.csv", ws.inbox("charges"))
    wait_for(lambda: len(files_in(ws.root / "archive")) == 1, what="charges archived")
    statement = shared_samples / "bank" / "kl_to_1c_2026-11.txt"
    shutil.copy(statement, ws.inbox("bank"))
    wait_for(lambda: len(files_in(ws.root / "archive")) == 2, what="statement archived")

    store = Store(ws.state_path)
    status = collect_status(ws, store, date(2026, 11, 30))
    open_numbers = {i["number"]: i for i in status["open_invoices"]}
    for number, expected in EXPECTED.items():
        assert (number in open_numbers) == (expected == "partly"), number
    assert open_numbers["2611-00004"]["paid"] == "5316.34"
    assert status["balances"] == {"669644592893": "100.00"}
    assert [p["number"] for p in status["unmatched_payments"]] == ["811"]
    before = _state(ws)

    shutil.copy(statement, ws.inbox("bank") / "again.txt")  # the same statement again
    text = statement.read_bytes().replace(b"09:15:42", b"10:20:00")  # re-exported: other bytes, same payments
    (ws.inbox("bank") / "reexport.txt").write_bytes(text)
    wait_for(lambda: len(files_in(ws.root / "archive")) == 4, what="both copies archived")
    assert _state(ws) == before
    store.close()
    assert proc.poll() is None


def test_reminders_reach_the_right_people_once(tmp_path, shared_samples, smtp_server):
    """Overdue unpaid invoices get one reminder each with the invoice attached; the manager one digest."""
    ws = make_workspace(tmp_path / "ws", smtp_port=smtp_server.port)
    config = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(
        config.replace(
            '# default_manager = "manager@severnet.example.ru"',
            'default_manager = "boss@severnet.example.ru"',
        ),
        encoding="utf-8",
    )
    shutil.copy(shared_samples / "charges" / "isp_charges_2026-11.csv", ws.inbox("charges"))
    shutil.copy(shared_samples / "bank" / "kl_to_1c_2026-11.txt", ws.inbox("bank"))
    assert main(["process", "-w", str(ws.root)]) == 0
    sent_before = len(smtp_server.messages)
    main(["remind", "-w", str(ws.root)])
    # invoices are dated the day they are issued and due 10 days later: nothing is overdue today
    assert smtp_server.messages[sent_before:] == []
    sent_before = len(smtp_server.messages)
    first_reminder_day = lambda: local_now() + timedelta(days=13)  # noqa: E731  (3 days after the due date)
    remind_once(ws, load_settings(ws.root), first_reminder_day)
    reminders = smtp_server.messages[sent_before:]
    to_clients = [m for m in reminders if m["To"] != "boss@severnet.example.ru"]
    digests = [m for m in reminders if m["To"] == "boss@severnet.example.ru"]
    reminded = {m["Subject"].rsplit("№ ", 1)[1] for m in to_clients}
    assert reminded.isdisjoint({"2611-00001", "2611-00002", "2611-00003", "2611-00005", "2611-00006"})
    assert "2611-00004" in reminded and len(reminded) == len(to_clients) == 20
    granit = next(m for m in to_clients if m["Subject"].endswith("2611-00004"))
    assert granit["To"] == "buh3@client3.ru"
    assert [a.get_filename() for a in granit.iter_attachments()] == ["Счет_2611-00004.pdf"]
    assert "осталось 5\u00a0316,33 руб." in granit.get_body().get_content()  # as the attached PDF writes sums
    assert len(digests) == 1 and "2611-00004" in digests[0].get_body().get_content()

    remind_once(ws, load_settings(ws.root), first_reminder_day)
    assert len(smtp_server.messages) == sent_before + len(reminders)


def test_malformed_statement_is_quarantined_naming_line_and_key(tmp_path, capsys):
    """A statement with a bad amount goes to quarantine; the report names the line and the key."""
    ws = make_workspace(tmp_path / "ws")
    bad = (
        "1CClientBankExchange\nСекцияДокумент=Платежное поручение\nНомер=1\nДата=01.11.2026\nСумма=12,3,4\n"
        "КонецДокумента\nКонецФайла\n"
    )
    (ws.inbox("bank") / "bad.txt").write_bytes(bad.encode("cp1251"))
    assert main(["process", "-w", str(ws.root)]) == 1
    report = (ws.quarantine("bank") / "bad.txt.errors.json").read_text(encoding="utf-8")
    assert '"line": 5' in report and '"column": "Сумма"' in report
    assert main(["status", "-w", str(ws.root), "--json"]) == 0
    assert '"quarantine/bank/bad.txt"' in capsys.readouterr().out


def test_smtp_down_mails_wait_and_go_exactly_once(tmp_path, shared_samples, smtp_server):
    """With the relay down the mails stay queued; once it is back each is delivered once, no more."""
    ws = make_workspace(tmp_path / "ws", smtp_port=smtp_server.port)
    config = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(
        config.replace("max_attempts = 10", "max_attempts = 10\nretry_base_seconds = 0"), encoding="utf-8"
    )
    smtp_server.stop()
    shutil.copy(shared_samples / "charges" / "isp_charges_2026-11.csv", ws.inbox("charges"))
    assert main(["process", "-w", str(ws.root)]) == 0
    assert mail.counts(Store(ws.state_path).conn) == {"queued": 25}
    smtp_server.start()
    main(["remind", "-w", str(ws.root)])  # any run sends what is due
    main(["remind", "-w", str(ws.root)])
    to = [m["To"] for m in smtp_server.messages if "документы" in m["Subject"]]
    assert len(to) == len(set(to)) == 25
