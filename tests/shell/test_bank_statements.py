"""Files in inbox/bank that are not statements of ours are quarantined, and read again once they are."""
from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess

import pytest

from daemon.cli import main
from daemon.workspace import Workspace
from tests.workspaces import files_in, make_workspace, start_daemon, wait_for

pytestmark = pytest.mark.slow
OURS = "40702810016540012345"
OTHER = "40702810938000067890"   # a second account of ours at the same bank, not yet in the config


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def _errors(ws: Workspace, name: str) -> list[dict[str, object]]:
    report = json.loads((ws.quarantine("bank") / f"{name}.errors.json").read_text(encoding="utf-8"))
    return list(report["errors"])


def _payments(ws: Workspace) -> list[tuple[str, str]]:
    with sqlite3.connect(ws.state_path) as conn:
        return conn.execute("SELECT number, amount FROM payments ORDER BY number").fetchall()


def _allocations(ws: Workspace) -> list[tuple[str, str]]:
    with sqlite3.connect(ws.state_path) as conn:
        return conn.execute("SELECT invoice_number, amount FROM allocations ORDER BY 1, 2").fetchall()


def test_a_statement_of_an_account_added_later_is_read_when_dropped_again(tmp_path, shared_samples):
    """The daemon quarantines a statement of an account not in the config; after the account is added
    (and the daemon restarted), the same bytes under another name are accepted with their payments, and
    only then is the original name a duplicate."""
    ws = make_workspace(tmp_path / "ws")
    log = tmp_path / "daemon.log"
    statement = (shared_samples / "bank" / "kl_to_1c_2026-11.txt").read_bytes()
    statement = statement.replace(OURS.encode(), OTHER.encode())
    proc = start_daemon(ws, log)
    try:
        shutil.copy(shared_samples / "charges" / "isp_charges_2026-11.csv", ws.inbox("charges"))
        wait_for(lambda: files_in(ws.root / "archive", "*.csv"), what="the charges archived")
        (ws.inbox("bank") / "sber_2026-11.txt").write_bytes(statement)
        wait_for((ws.quarantine("bank") / "sber_2026-11.txt").exists, what="the statement quarantined")
        ((error),) = _errors(ws, "sber_2026-11.txt")
        assert (error["column"], error["value"]) == ("РасчСчет", OTHER)
        assert f"наши счета — {OURS}" in str(error["reason"])
        assert _payments(ws) == []
        _stop(proc)

        config = ws.config_path.read_text(encoding="utf-8")
        added = config.replace("[company.bank]", f'other_accounts = ["{OTHER}"]\n\n[company.bank]', 1)
        assert added != config
        ws.config_path.write_text(added, encoding="utf-8")
        proc = start_daemon(ws, log)
        (ws.inbox("bank") / "выписка сбер ноябрь.txt").write_bytes(statement)
        wait_for(lambda: files_in(ws.root / "archive", "*.txt"), what="the statement accepted")
        assert [p.name for p in files_in(ws.root / "archive", "*.txt")] == ["выписка сбер ноябрь.txt"]
        payments = _payments(ws)
        assert [number for number, _ in payments] == ["700", "701", "702", "703", "704", "705", "811"]
        paid = _allocations(ws)
        assert ("2611-00001", "3500.00") in paid and ("2611-00004", "5316.34") in paid

        (ws.inbox("bank") / "sber_2026-11.txt").write_bytes(statement)   # the first name, now a duplicate
        wait_for(lambda: len(files_in(ws.root / "archive", "*.txt")) == 2, what="the duplicate archived")
        assert (_payments(ws), _allocations(ws)) == (payments, paid)
        assert [p.name for p in files_in(ws.quarantine("bank"), "*.txt")] == ["sber_2026-11.txt"]
    finally:
        _stop(proc)


def test_billdrops_own_payment_file_in_the_bank_inbox_is_quarantined_as_one(tmp_path, shared_samples):
    """The upload file billdrop wrote to outbox/bank, dropped into inbox/bank by mistake: quarantined as a
    payment file, naming our account; no payment recorded."""
    ws = make_workspace(tmp_path / "ws")
    for source, name in (("payouts", "payouts_2026-11-20.csv"), ("payouts", "payout_90101.csv"),
                         ("acceptances", "accepted_2026-11-22.csv")):
        shutil.copy(shared_samples / source / name, ws.inbox(source))
        assert main(["process", "-w", str(ws.root)]) == 0
    (upload,) = files_in(ws.outbox("bank"), "*.txt")
    shutil.copy(upload, ws.inbox("bank"))
    assert main(["process", "-w", str(ws.root)]) == 1
    ((error),) = _errors(ws, upload.name)
    assert error["column"] == "СекцияДокумент"
    assert str(error["reason"]).startswith("это файл платёжных поручений для загрузки в банк, а не выписка")
    assert f"со счёта {OURS} (наш)" in str(error["reason"])
    assert _payments(ws) == []
