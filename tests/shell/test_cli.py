"""The command line: exit codes, `check` changing nothing, config checks, the systemd unit."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from daemon.cli import main
from daemon.config import builtin_dir, load_settings
from tests.workspaces import ROOT, files_in, make_workspace

BAD = "Договор;Клиент;ИНН;Услуга;Период;Сумма\nД-1;ООО Ромашка;6672002971;Интернет;11.2026;abc\n"


def test_check_reports_and_changes_nothing(tmp_path, capsys):
    """`check` prints every error, exits 1, and leaves the file where it is."""
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    assert main(["check", str(bad), "--source", "charges"]) == 1
    out = capsys.readouterr().out
    assert "строка 2, столбец «ИНН»" in out and "«abc»" in out
    assert bad.read_text(encoding="utf-8") == BAD


def test_process_exit_codes(tmp_path, shared_samples):
    """0 when all files are accepted, 1 when any is quarantined, 2 without a config."""
    ws = make_workspace(tmp_path / "ws")
    (ws.inbox("charges") / "good.csv").write_bytes(
        (shared_samples / "charges" / "isp_charges_2026-11.csv").read_bytes()
    )
    assert main(["process", "-w", str(ws.root)]) == 0
    (ws.inbox("charges") / "bad.csv").write_text(BAD, encoding="utf-8")
    assert main(["process", "-w", str(ws.root)]) == 1
    assert [p.name for p in files_in(ws.quarantine("charges"))] == [
        "bad.csv",
        "bad.csv.errors.html",
        "bad.csv.errors.json",
        "bad.csv.errors.xlsx",
    ]
    assert main(["process", "-w", str(tmp_path / "nowhere")]) == 2


def test_same_file_twice_is_a_duplicate(tmp_path, shared_samples):
    """Dropping the same bytes again archives them and issues nothing new."""
    ws = make_workspace(tmp_path / "ws")
    data = (shared_samples / "charges" / "isp_charges_2026-11.csv").read_bytes()
    (ws.inbox("charges") / "a.csv").write_bytes(data)
    assert main(["process", "-w", str(ws.root)]) == 0
    pdfs = files_in(ws.root / "documents")
    (ws.inbox("charges") / "a.csv").write_bytes(data)
    assert main(["process", "-w", str(ws.root)]) == 0
    assert files_in(ws.root / "documents") == pdfs and len(files_in(ws.root / "archive")) == 2


def test_number_format_too_long_for_1c_is_refused(tmp_path, capsys):
    """A numbering format that can exceed 11 characters is a config error (exit 2) naming the setting."""
    ws = make_workspace(tmp_path / "ws")
    text = ws.config_path.read_text(encoding="utf-8").replace(
        'invoice = "{period:%y%m}-{seq:05}"', 'invoice = "{account}-{period:%m%y}-{seq}"'
    )
    ws.config_path.write_text(text, encoding="utf-8")
    assert main(["process", "-w", str(ws.root)]) == 2
    assert "sources.charges.numbering.invoice" in capsys.readouterr().err


def test_init_writes_a_loadable_commented_config(tmp_path):
    """`init` creates the folders and a config that loads as written."""
    assert main(["init", str(tmp_path / "new")]) == 0
    settings = load_settings(tmp_path / "new")
    assert settings.onec.version == "1.20" and (tmp_path / "new" / "inbox" / "charges").is_dir()


def test_systemd_unit_is_hardened():
    """Type=notify with a watchdog, a dedicated user, a read-only system but the workspace, no capability."""
    lines = (builtin_dir("systemd") / "billdrop.service").read_text(encoding="utf-8").splitlines()
    directives = [line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")]
    service = dict(directives)
    assert service["Type"] == "notify" and int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure" and service["User"] == "billdrop"
    assert service["ProtectSystem"] == "strict" and service["ReadWritePaths"] == "/srv/billdrop"
    assert service["CapabilityBoundingSet"] == "" and service["NoNewPrivileges"] == "true"
    assert service["PrivateTmp"] == "true" and service["ProtectHome"] == "true"
    assert ["SystemCallFilter", "@system-service"] in directives


def test_bad_inputs_are_quarantined_with_a_reason(tmp_path, shared_samples):
    """Empty, header-only, binary junk, KOI8 and truncated XLSX files: each quarantined with its reason."""
    ws = make_workspace(tmp_path / "ws")
    xlsx = (shared_samples / "charges" / "isp_charges_2026-10.xlsx").read_bytes()
    inputs = {
        "empty.csv": b"",
        "header only.csv": "Договор;Клиент;ИНН;Услуга;Период;Сумма\n".encode("cp1251"),
        "junk.csv": bytes(range(256)) * 40,
        "koi8.csv": (shared_samples / "charges" / "isp_charges_2026-11.csv")
        .read_bytes()
        .decode("cp1251")
        .encode("koi8_r", errors="replace"),
        "обрезанный ..xlsx": xlsx[: len(xlsx) // 2],
    }
    for name, data in inputs.items():
        (ws.inbox("charges") / name).write_bytes(data)
    assert main(["process", "-w", str(ws.root)]) == 1
    for name, data in inputs.items():
        assert (ws.quarantine("charges") / name).read_bytes() == data, name
        report = (ws.quarantine("charges") / f"{name}.errors.json").read_text(encoding="utf-8")
        assert '"reason": "' in report and '"reason": ""' not in report, name
    assert files_in(ws.root / "documents") == [] and files_in(ws.root / "work") == []


def test_a_million_row_csv_is_refused_unread(tmp_path):
    """1,000,000 rows (~100 MB) exceed the size limit: quarantined, the limit named, memory untouched."""
    ws = make_workspace(tmp_path / "ws")
    row = (
        "Д-000001;100001;ООО «Клиент»;6600000010;667001001;a@b.ru;1;ул. Ленина, д. 1;Интернет;11.2026;;;"
        "3500,00;3500,00;Без НДС\r\n"
    )
    path = ws.inbox("charges") / "huge.csv"
    with open(path, "wb") as handle:
        handle.write(
            "Договор;Лицевой счет;Клиент;ИНН;КПП;Email;ID сервиса;Адрес;Услуга;Период;С;По;"
            "Абонплата;Сумма;НДС\r\n".encode("cp1251")
        )
        handle.write(row.encode("cp1251") * 1_000_000)
    size = path.stat().st_size
    _, idle = _peak_rss_of_process(make_workspace(tmp_path / "idle"))
    code, peak = _peak_rss_of_process(ws)
    assert code == 1
    report = json.loads((ws.quarantine("charges") / "huge.csv.errors.json").read_text(encoding="utf-8"))
    assert "больше предела 32 МБ" in report["reason"] and "max_file_megabytes" in report["reason"]
    assert (ws.quarantine("charges") / "huge.csv").stat().st_size == size
    assert peak - idle < size / 4, f"peak RSS grew by {(peak - idle) / 2**20:.0f} MB: the file was read"


def _peak_rss_of_process(ws) -> tuple[int, int]:
    """`billdrop process` in a child process: its exit code and its own peak RSS in bytes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "daemon", "process", "-w", str(ws.root)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss * 1024
