"""Every source kind through one path: `check` agrees with `process`, config refusals, commit faults."""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config import load_settings
from daemon.context import build_context
from daemon.core.report import FileReport, RowError
from daemon.runner import Failed, Quarantined, process_file
from daemon.status import collect_status
from daemon.store import Store, files, mail
from daemon.workspace import Workspace
from tests.workspaces import ROOT, files_in, make_workspace

HOSTILE = Path(__file__).resolve().parent.parent / "hostile"
# hostile/files/ is no source: inbox entries built at test time (test_hostile_files.py)
HOSTILE_FILES = sorted(p for p in HOSTILE.glob("*/*")
                       if not p.name.endswith(".expected.json") and p.parent.name != "files")
# The shipped samples in the order a month brings them: acceptances need their payouts, a statement its
# invoices.
SAMPLES = (
    ("charges", "isp_charges_2026-11.csv"), ("charges", "isp_charges_2026-10.xlsx"),
    ("bgbilling", "bgb_narabotka_2026-11.csv"), ("payouts", "payouts_2026-11-20.csv"),
    ("payouts", "payout_90101.csv"), ("acceptances", "accepted_2026-11-22.csv"),
    ("bank", "kl_to_1c_2026-11.txt"),
)


def _report(ws: Workspace, source: str, name: str) -> FileReport:
    data = json.loads((ws.quarantine(source) / f"{name}.errors.json").read_text(encoding="utf-8"))
    errors = tuple(RowError(**e) for e in data["errors"])
    return FileReport(data["file"], data["source"], data["reason"], errors, data["total_errors"])


def test_check_accepts_every_shipped_sample_that_process_then_accepts(tmp_path, capsys):
    """Each sample, checked against the workspace as it stands, is valid (exit 0); `process` accepts it."""
    ws = make_workspace(tmp_path / "ws")
    for source, name in SAMPLES:
        sample = ROOT / "samples" / source / name
        assert main(["check", str(sample), "--source", source, "-w", str(ws.root)]) == 0, capsys.readouterr()
        shutil.copy2(sample, ws.inbox(source) / name)
        assert main(["process", "-w", str(ws.root)]) == 0
        assert name in [p.name for p in files_in(ws.root / "archive")]


def test_check_prints_how_headers_map(shared_samples, capsys):
    """Without a workspace `check` uses the shipped settings and names each header's field and unused ones."""
    sample = shared_samples / "payouts" / "payouts_2026-11-20.csv"
    assert main(["check", str(sample), "--source", "payouts"]) == 0
    out = capsys.readouterr()
    assert "«inn» → inn" in out.err and "«utm_source»" in out.err.split("не используются:")[1]
    assert "ошибок нет" in out.out


def test_check_reads_a_bank_statement(shared_samples, capsys):
    """A statement is checked by the statement reader, not as a table."""
    assert main(["check", str(shared_samples / "bank" / "kl_to_1c_2026-11.txt"), "--source", "bank"]) == 0


@pytest.mark.parametrize("case", HOSTILE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_check_lists_exactly_the_errors_process_quarantines_with(case, tmp_path, capsys):
    """For every hostile file `check` exits 1 with the very report `process` quarantines the file with."""
    source = case.parent.name
    ws = make_workspace(tmp_path / "ws")
    assert main(["check", str(case), "--source", source, "-w", str(ws.root)]) == 1
    checked = capsys.readouterr().out.strip()
    shutil.copy2(case, ws.inbox(source) / case.name)
    assert main(["process", "-w", str(ws.root)]) == 1
    report = _report(ws, source, case.name)
    assert checked == report.as_text()
    expected = json.loads(case.with_name(case.name + ".expected.json").read_text(encoding="utf-8"))
    assert {"reason": report.reason, "errors": [list(e.__dict__.values()) for e in report.errors]} == expected


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('[sources.payouts]\nschema = "payouts"\ndocuments = ["agent_act"]',
          '[sources.payouts]\nschema = "payouts"\ndocuments = ["act"]'),
         "sources.payouts.documents: act: источник этого вида выпускает только agent_act"),
        (('version = "1.20"', 'version = "1.11"'),
         "sources.bgbilling.vat: ставка НДС 22% требует формата EnterpriseData 1.17 или новее (выбран 1.11)"),
        (('inn = "6670000014"', 'inn = "6670000015"'), "company.inn: "),
        (('bik = "044525225"', 'bik = "144525225"'), "company.bank.bik: "),
        (('account = "40702810016540012345"', 'account = "40702810016540012346"'), "company.bank.account: "),
        (('[sources.bank]\nschema = "bank_statement"',
          '[sources.bank]\nkind = "ledger"\nschema = "bank_statement"'),
         "sources.bank.kind: неизвестный вид источника «ledger»"),
    ],
    ids=["payouts-with-act", "1.11-with-22%", "company-inn", "company-bik", "company-account",
         "unknown-kind"],
)
def test_config_refusals_exit_2_naming_the_key(tmp_path, capsys, edit, message):
    """What the config gets wrong is refused at load, exit 2, in Russian, with the key; nothing processed."""
    ws = make_workspace(tmp_path / "ws")
    old, new = edit
    text = ws.config_path.read_text(encoding="utf-8")
    assert old in text
    ws.config_path.write_text(text.replace(old, new, 1), encoding="utf-8")
    (ws.inbox("charges") / "month.csv").write_bytes(b"never read")
    assert main(["process", "-w", str(ws.root)]) == 2
    assert message in capsys.readouterr().err
    assert files_in(ws.inbox("charges")) == [ws.inbox("charges") / "month.csv"]


def test_a_rate_1c_cannot_carry_quarantines_the_file_before_any_number(tmp_path):
    """EnterpriseData 1.11: a row at 22 % is a row error: quarantined, no number taken, nothing written."""
    ws = make_workspace(tmp_path / "ws")
    text = ws.config_path.read_text(encoding="utf-8").replace('version = "1.20"', 'version = "1.11"')
    text = text.replace('vat = "22%"', 'vat = "20%"')  # the BGBilling source's default, which 1.11 can carry
    ws.config_path.write_text(text, encoding="utf-8")
    header = "Договор;Клиент;ИНН;КПП;Услуга;Период;Сумма;Ставка НДС\n"
    row = 'Д-1;"ООО ""Ромашка""";6672002970;667001001;Интернет;11.2026;1220,00;{rate}\n'
    (ws.inbox("charges") / "month.csv").write_text(header + row.format(rate="10%") + row.format(rate="22%"),
                                                   encoding="utf-8")
    assert main(["process", "-w", str(ws.root)]) == 1
    report = _report(ws, "charges", "month.csv")
    assert [(e.line, e.column) for e in report.errors] == [(3, "Ставка НДС")]
    assert "1.17 или новее" in report.errors[0].reason
    store = Store(ws.state_path)
    assert store.conn.execute("SELECT COUNT(*) FROM sequences").fetchone() == (0,)
    assert store.conn.execute("SELECT COUNT(*) FROM documents").fetchone() == (0,)
    store.close()
    assert files_in(ws.outbox("1c")) == [] and files_in(ws.root / "documents") == []


def test_a_failure_after_the_commit_reaches_the_operator_and_status(tmp_path, shared_samples):
    """A broken print form: the numbers stay, the file waits in work/, is retried, and after three attempts
    the operator gets one mail and `status` lists it; with the form fixed the file ends with its numbers."""
    ws = make_workspace(tmp_path / "ws")
    shutil.copytree(Path(__file__).resolve().parents[2] / "templates", ws.root / "templates")
    form = ws.root / "templates" / "pdf" / "invoice.html.j2"
    good = form.read_text(encoding="utf-8")
    form.write_text(good + "{% endif %}", encoding="utf-8")  # an operator's edit gone wrong
    shutil.copy2(shared_samples / "charges" / "isp_charges_2026-11.csv", ws.inbox("charges") / "month.csv")
    for _ in range(3):
        assert main(["process", "-w", str(ws.root)]) == 1
    assert [p.name for p in files_in(ws.work("charges"))] == ["month.csv"]
    store = Store(ws.state_path)
    (failing,) = files.failing(store.conn)
    assert failing.attempts == 3 and "TemplateSyntaxError" in failing.last_error
    status = collect_status(ws, store, date(2026, 11, 30))
    assert status["failing"][0]["file"] == "month.csv"
    numbers = store.conn.execute("SELECT kind, number FROM documents ORDER BY kind, number").fetchall()
    store.close()
    notices = [m for m in files_in(ws.mail_dir, "*.eml") if "не удаётся выпустить" in _subject(m)]
    assert len(notices) == 1
    form.write_text(good, encoding="utf-8")
    assert main(["process", "-w", str(ws.root)]) == 0
    store = Store(ws.state_path)
    issued = store.conn.execute("SELECT kind, number FROM documents ORDER BY kind, number").fetchall()
    assert issued == numbers
    assert files.failing(store.conn) == []
    store.close()
    assert files_in(ws.work("charges")) == []
    assert len(files_in(ws.root / "documents", "*.pdf")) == len(numbers)


def _subject(eml: Path) -> str:
    return str(BytesParser(policy=policy.default).parsebytes(eml.read_bytes())["Subject"])


class _Crash(BaseException):
    """The process dying at a chosen step (not an Exception: nothing may catch it)."""


def test_a_crash_between_the_quarantine_record_and_the_move_loses_no_notice(tmp_path):
    """The record and the operator's notice commit together before the move; after the crash the file is moved
    to the same place and the operator has exactly one notice."""
    ws = make_workspace(tmp_path / "ws")
    bad = HOSTILE / "charges" / "bad_cells.csv"
    work = ws.work("charges")
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy2(bad, work / bad.name)
    settings = load_settings(ws.root)

    def crash(*args: object, **kwargs: object) -> Path:
        raise _Crash

    ctx = build_context(ws, settings)
    with pytest.raises(_Crash):
        process_file(work / bad.name, "charges", replace(ctx, move=crash))
    ctx.close()
    assert (work / bad.name).exists()
    ctx = build_context(ws, settings)
    try:
        outcome = process_file(work / bad.name, "charges", ctx)
        notices = ctx.store.conn.execute("SELECT dedupe_key FROM mail_jobs").fetchall()
        assert mail.counts(ctx.store.conn) == {"queued": 1}
    finally:
        ctx.close()
    assert isinstance(outcome, Quarantined) and not isinstance(outcome, Failed)
    assert notices == [(f"quarantine:{hashlib.sha256(bad.read_bytes()).hexdigest()}",)]
    assert [p.name for p in files_in(ws.quarantine("charges"))] == sorted(
        [bad.name] + [bad.name + s for s in (".errors.html", ".errors.json", ".errors.xlsx")])
