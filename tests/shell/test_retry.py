"""`billdrop retry`: quarantined files through the runner again, without moving them by hand."""
from __future__ import annotations

import json
import shutil

import pytest

from daemon.cli import main
from tests.workspaces import files_in, make_workspace

pytestmark = pytest.mark.slow
ACCEPTED = "accepted_2026-11-22.csv"


@pytest.fixture
def early_acceptances(tmp_path, shared_samples):
    """Acceptances that came before their payouts: quarantined, naming the unknown payouts."""
    ws = make_workspace(tmp_path / "ws")
    shutil.copy(shared_samples / "acceptances" / ACCEPTED, ws.inbox("acceptances"))
    assert main(["process", "-w", str(ws.root)]) == 1
    assert (ws.quarantine("acceptances") / ACCEPTED).exists()
    return ws


def test_retry_accepts_once_the_ledger_allows(early_acceptances, shared_samples, capsys):
    """After the payouts, a retry accepts the file: archived, reports gone, orders written, logged."""
    ws = early_acceptances
    shutil.copy(shared_samples / "payouts" / "payouts_2026-11-20.csv", ws.inbox("payouts"))
    assert main(["process", "-w", str(ws.root)]) == 0
    capsys.readouterr()
    assert main(["retry", f"acceptances/{ACCEPTED}", "-w", str(ws.root)]) == 0
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert files_in(ws.quarantine("acceptances")) == []
    assert files_in(ws.outbox("bank"), "*.txt")
    retried = [(e["file"], e["source"]) for e in events if e["event"] == "file.retried"]
    assert retried == [(ACCEPTED, "acceptances")]


def test_retry_of_a_still_bad_file_gives_fresh_reports(early_acceptances):
    """Retried too early, the file is quarantined again (exit 1) beside a report written anew."""
    ws = early_acceptances
    report = ws.quarantine("acceptances") / f"{ACCEPTED}.errors.json"
    report.write_text("{}", encoding="utf-8")
    assert main(["retry", "--all", "-w", str(ws.root)]) == 1
    assert json.loads(report.read_text(encoding="utf-8"))["file"] == ACCEPTED
    assert len(files_in(ws.quarantine("acceptances"))) == 4


def test_retry_usage_errors(early_acceptances, capsys):
    """Neither a file nor --all, or a file not in quarantine, exits 2 with a Russian message."""
    ws = early_acceptances
    assert main(["retry", "-w", str(ws.root)]) == 2
    assert "укажите файл из карантина, --all или --mail" in capsys.readouterr().err
    assert main(["retry", "nothing.csv", "-w", str(ws.root)]) == 2
    assert "такого файла нет в карантине" in capsys.readouterr().err
