"""The command line: Russian help and errors, exit codes, `check` changing nothing, config checks, mail-test,
the demo's summary, the systemd unit."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from email import policy
from email.parser import BytesParser

import pytest

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


def test_help_usage_and_errors_are_russian(capsys):
    """The help lists the commands and exit codes; a subcommand's help and usage errors are Russian too."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("использование: billdrop") and "команды:" in out
    assert "коды выхода: 0 — готово" in out
    assert "mail-test" in out and "install-service" in out and "show this help" not in out
    assert main(["check", "--help"]) == 0
    out = capsys.readouterr().out
    assert "параметры:" in out and "--source ИСТОЧНИК" in out and out.count("аргументы:") == 1
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert "использование: billdrop status" in err and "ошибка: не заданы обязательные аргументы: -w" in err


def test_bad_log_level_is_a_usage_error(capsys):
    """`--log-level bogus`: argparse's choice error, in Russian, exit 2."""
    assert main(["--log-level", "bogus", "status", "-w", "."]) == 2
    assert "billdrop: ошибка: --log-level: недопустимое значение 'bogus', допустимы: 'debug'" in (
        capsys.readouterr().err
    )


def test_check_of_a_missing_file_says_so(tmp_path, capsys):
    """No traceback: «файл не найден», exit 2; a folder is refused as `process` refuses it, exit 1."""
    assert main(["check", str(tmp_path / "нет.csv"), "--source", "charges"]) == 2
    assert capsys.readouterr().err == f"billdrop: ошибка: файл не найден: {tmp_path / 'нет.csv'}\n"
    assert main(["check", str(tmp_path), "--source", "charges"]) == 1
    assert capsys.readouterr().out.startswith(f"{tmp_path.name}: папка, а не файл")


def test_init_speaks_russian_and_refuses_a_file(tmp_path, capsys):
    assert main(["init", str(tmp_path / "ws")]) == 0
    assert capsys.readouterr().out.startswith(f"рабочая папка готова: {tmp_path / 'ws'}\n")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert main(["init", str(tmp_path / "file")]) == 2
    assert "billdrop: ошибка: " in capsys.readouterr().err


def test_status_into_a_closed_pipe_ends_quietly(tmp_path):
    """`billdrop status | head`: the reader went away; no BrokenPipeError traceback, the usual exit code."""
    ws = make_workspace(tmp_path / "ws")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before billdrop writes anything
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "status", "-w", str(ws.root)], cwd=ROOT,
                            stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and err == b""


def test_ctrl_c_is_exit_130_without_a_traceback(tmp_path):
    """SIGINT while `mail-test` waits for a relay that accepted the connection and never answers:
    «прервано», exit 130."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        ws = make_workspace(tmp_path / "ws", smtp_port=silent.getsockname()[1])
        command = [sys.executable, "-m", "daemon", "mail-test", "a@client.ru", "-w", str(ws.root)]
        proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE)
        silent.settimeout(60)
        connection, _ = silent.accept()   # billdrop now waits for the greeting
        with connection:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.decode().endswith("billdrop: ошибка: прервано\n"), err


def test_mail_test_through_smtp(tmp_path, smtp_server, capsys):
    """One mail through the configured relay, reported with where it went; a refused address is exit 1."""
    ws = make_workspace(tmp_path / "ws", smtp_port=smtp_server.port)
    assert main(["mail-test", "admin@client.ru", "-w", str(ws.root)]) == 0
    out = capsys.readouterr().out
    [delivery] = smtp_server.deliveries
    assert delivery.rcpt_tos == ("admin@client.ru",)
    assert delivery.message["Subject"] == "billdrop: проверка почты"
    relay = f"127.0.0.1:{smtp_server.port}"
    assert out.startswith(f"тестовое письмо для admin@client.ru передано серверу SMTP {relay};")
    assert delivery.message["Message-ID"] in out and files_in(ws.mail_dir) == []
    smtp_server.refuse("nobody@client.ru")
    assert main(["mail-test", "nobody@client.ru", "-w", str(ws.root)]) == 1
    assert "письмо для nobody@client.ru не отправлено" in capsys.readouterr().err


def test_mail_test_without_smtp_writes_an_eml(tmp_path, capsys):
    ws = make_workspace(tmp_path / "ws")
    assert main(["mail-test", "admin@client.ru", "-w", str(ws.root)]) == 0
    out = capsys.readouterr().out
    [eml] = files_in(ws.mail_dir)
    assert f"записано в {ws.relative(eml)} (SMTP не настроен" in out
    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert message["To"] == "admin@client.ru" and "тестовое письмо billdrop" in message.get_content()


def test_demo_prints_a_summary_and_warns_only_of_what_the_samples_lack(tmp_path, capsys, monkeypatch):
    """At WARNING by default: no info lines, nothing about our own requisites (ЭДО id, signer); the summary
    counts files, documents and mails, and the last line says how to call billdrop."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "d"]) == 0
    out, err = capsys.readouterr()
    warnings = [json.loads(line) for line in err.splitlines()]
    assert {w["level"] for w in warnings} == {"warning"}
    assert {w["event"] for w in warnings} == {"edo.problem", "payment.unmatched"}
    problems = {w["problem"] for w in warnings if w["event"] == "edo.problem"}
    # the bgbilling sample has no buyer's ЭДО id
    assert all(p.startswith("нет идентификатора ЭДО покупателя") for p in problems), problems
    lines = out.splitlines()
    assert lines[:2] == ["Демо: d", "  файлы: принято 7, в карантине 0"]
    assert lines[2].startswith("  документы: счёт 47, акт 37, УПД 10, акт агента 9, платёжное поручение 2")
    assert lines[3] == "  письма: записано в mail/ (.eml) 44"   # the demo has no SMTP: nothing «sent»
    assert "  ЭДО (ФНС XML)                d/outbox/edo" in lines
    assert lines[-1].startswith("Дальше: ") and " status -w d" in lines[-1]


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_root_hands_init_to_the_workspace_owner_and_runs_nothing_there(tmp_path, capsys):
    """In a folder the service user owns, root's `init` gives what it makes to that user, and the commands
    that would leave root's files there are refused (exit 2), naming whom to run them as."""
    root = tmp_path / "srv"
    root.mkdir()
    os.chown(root, 4321, 4321)
    assert main(["init", str(root)]) == 0
    assert {path.stat().st_uid for path in root.rglob("*")} == {4321}
    capsys.readouterr()
    assert main(["process", "-w", str(root)]) == 2
    assert "принадлежит пользователю 4321: запускайте billdrop от его имени" in capsys.readouterr().err
    assert not (root / "state.sqlite").exists() and not (root / ".billdrop.lock").exists()
