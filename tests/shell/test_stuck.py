"""No poison file: a file whose outputs fail after the commit is retried a bounded number of times, then
parked as stuck (one notice, listed by `status`); the queue, `remind` and `retry` go on around it."""
from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config import load_settings
from daemon.service import remind_once
from daemon.status import collect_status
from daemon.store import Store
from tests.workspaces import ROOT, files_in, make_workspace, start_daemon, wait_for

pytestmark = pytest.mark.slow
NOVEMBER = "isp_charges_2026-11.csv"
POISON_INN = "6672002970"   # ООО «Ромашка» in the November sample: its invoice form raises
STUCK_SUBJECT = "остановлен, документы по нему не выпущены"
GOOD_CHARGES = (
    "Договор;Клиент;ИНН;КПП;Email;Услуга;Период;Сумма;Ставка НДС\n"
    'Д-2022/151;"АО ""Вектор""";6677276935;667001001;buh1@client1.ru;Интернет;12.2026;6900,00;Без НДС\n'
)


def _poisoned_workspace(root: Path):
    """A workspace where the invoice form raises for one client, parked after two attempts."""
    ws = make_workspace(root)
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(text.replace("[watch]\n", "[watch]\nstuck_after_attempts = 2\n", 1),
                              encoding="utf-8")
    shutil.copytree(ROOT / "templates", ws.root / "templates")
    form = ws.root / "templates" / "pdf" / "invoice.html.j2"
    good = form.read_text(encoding="utf-8")
    end = good.rindex("{% endblock %}")
    poison = f"{{% if doc.counterparty.inn == '{POISON_INN}' %}}{{{{ 1 // 0 }}}}{{% endif %}}"
    form.write_text(good[:end] + poison + good[end:], encoding="utf-8")
    return ws, form, good


def _subjects(ws) -> list[str]:
    return [str(BytesParser(policy=policy.default).parsebytes(m.read_bytes())["Subject"])
            for m in files_in(ws.mail_dir, "*.eml")]


def _file_rows(ws) -> dict[str, tuple[str, int]]:
    """name → (outcome, attempts), read only (the daemon creates the store)."""
    if not ws.state_path.exists():
        return {}
    with sqlite3.connect(f"file:{ws.state_path}?mode=ro", uri=True) as conn:
        return {name: (outcome, attempts)
                for name, outcome, attempts in conn.execute("SELECT name, outcome, attempts FROM files")}


def _numbers(ws, name: str) -> list[tuple[str, str]]:
    with sqlite3.connect(ws.state_path) as conn:
        return conn.execute("SELECT d.kind, d.number FROM documents d JOIN files f "
                            "ON f.sha256 = d.file_sha256 WHERE f.name = ? ORDER BY d.kind, d.number",
                            (name,)).fetchall()


def test_process_parks_the_poison_file_and_goes_on(tmp_path, shared_samples, capsys):
    """Through `process`: two failed attempts park the file (one notice); good files of the same and
    another source are processed after it, the stuck one is not retried; `status` lists it with its error
    and does not count its invoices as owed; `remind` reminds only of delivered invoices; `retry` finishes
    it after the fix."""
    ws, form, good = _poisoned_workspace(tmp_path / "ws")
    shutil.copy2(shared_samples / "charges" / NOVEMBER, ws.inbox("charges") / "month.csv")
    assert main(["process", "-w", str(ws.root)]) == 1   # attempt 1: failed, retried
    assert main(["process", "-w", str(ws.root)]) == 1   # attempt 2: stuck
    assert _file_rows(ws) == {"month.csv": ("stuck", 2)}
    assert sum(STUCK_SUBJECT in s for s in _subjects(ws)) == 1
    assert not any("не удаётся выпустить" in s for s in _subjects(ws))  # alert at 3: parked before

    (ws.inbox("charges") / "december.csv").write_text(GOOD_CHARGES, encoding="utf-8")
    shutil.copy2(shared_samples / "payouts" / "payouts_2026-11-20.csv", ws.inbox("payouts"))
    assert main(["process", "-w", str(ws.root)]) == 0   # the stuck file is left alone: not a new failure
    rows = _file_rows(ws)
    assert rows["month.csv"] == ("stuck", 2)   # not retried
    assert rows["december.csv"][0] == rows["payouts_2026-11-20.csv"][0] == "done"
    assert [p.name for p in files_in(ws.work("charges"))] == ["month.csv"]
    assert sum(STUCK_SUBJECT in s for s in _subjects(ws)) == 1

    capsys.readouterr()
    assert main(["status", "--json", "-w", str(ws.root)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [(s["file"], s["attempts"]) for s in status["stuck"]] == [("month.csv", 2)]
    assert "ZeroDivisionError" in status["stuck"][0]["error"] and status["failing"] == []
    stuck_invoices = {number for kind, number in _numbers(ws, "month.csv") if kind == "invoice"}
    assert stuck_invoices and not stuck_invoices & {i["number"] for i in status["open_invoices"]}
    assert main(["status", "-w", str(ws.root)]) == 0
    table = capsys.readouterr().out
    assert "Остановлены, ждут исправления и billdrop retry: 1" in table and "month.csv (charges)" in table

    later = datetime(2027, 3, 1, 12, 0)   # every due date long past
    assert remind_once(ws, load_settings(ws.root), clock=lambda: later) >= 1
    with sqlite3.connect(ws.state_path) as conn:
        reminded = {key.split(":")[1] for (key,) in conn.execute(
            "SELECT dedupe_key FROM mail_jobs WHERE dedupe_key LIKE 'reminder:%'")}
    december_invoices = {number for kind, number in _numbers(ws, "december.csv") if kind == "invoice"}
    assert reminded == december_invoices   # none for the invoices that never went out

    numbers = _numbers(ws, "month.csv")
    form.write_text(good, encoding="utf-8")
    assert main(["retry", "month.csv", "-w", str(ws.root)]) == 0
    assert _file_rows(ws)["month.csv"][0] == "done" and _numbers(ws, "month.csv") == numbers
    assert files_in(ws.work("charges")) == []
    store = Store(ws.state_path)
    try:
        assert collect_status(ws, store, date(2026, 12, 2))["stuck"] == []
    finally:
        store.close()


def test_the_service_parks_the_poison_file_and_goes_on(tmp_path, shared_samples):
    """Through `billdrop run`: the file is retried with backoff, parked after two attempts with one notice,
    and files dropped after it in the same and another source are processed while it stays in work/."""
    ws, _, _ = _poisoned_workspace(tmp_path / "ws")
    log_path = tmp_path / "daemon.log"
    proc = start_daemon(ws, log_path)
    try:
        wait_for(lambda: "service.started" in log_path.read_text(encoding="utf-8"), what="the start")
        shutil.copy2(shared_samples / "charges" / NOVEMBER, ws.inbox("charges") / "month.csv")
        wait_for(lambda: _file_rows(ws).get("month.csv", ("", 0))[0] == "stuck", what="the file parked")
        (ws.inbox("charges") / "december.csv").write_text(GOOD_CHARGES, encoding="utf-8")
        shutil.copy2(shared_samples / "payouts" / "payouts_2026-11-20.csv", ws.inbox("payouts"))
        wait_for(lambda: len(files_in(ws.root / "archive")) == 2, what="the good files archived")
        wait_for(lambda: any(STUCK_SUBJECT in s for s in _subjects(ws)), what="the notice written")
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    events = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()
              if line.startswith("{")]
    failures = [e["event"] for e in events if e.get("file") == "month.csv"
                and e["event"] in ("file.outputs_failed", "file.stuck")]
    assert failures == ["file.outputs_failed", "file.stuck"]   # two attempts, then out of the retry loop
    assert _file_rows(ws)["month.csv"] == ("stuck", 2)
    assert [p.name for p in files_in(ws.work("charges"))] == ["month.csv"]
    assert sum(STUCK_SUBJECT in s for s in _subjects(ws)) == 1
