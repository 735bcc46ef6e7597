"""Hostile inbox entries through the running daemon (`billdrop run`, real inotify), `process` and `check`.

The entries are built at test time from tests/hostile/files/manifest.json: symlinks (also one swapped in
after the file was marked ready), a FIFO, a folder, a hard link, an unreadable file, a long and a
non-UTF-8 name, and a writer appending row by row. Each is refused or kept as the manifest says, nothing
outside the workspace is read, and the daemon stays up and takes the next normal file.
"""
from __future__ import annotations

import asyncio
import ctypes
import json
import os
import shutil
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from daemon.cli import main
from daemon.core.report import sidecar_name
from daemon.status import collect_status, format_status
from daemon.store import Store
from daemon.workspace import Workspace
from tests.workspaces import files_in, make_workspace, start_daemon, wait_for

pytestmark = pytest.mark.slow
FILES = Path(__file__).resolve().parent.parent / "hostile" / "files"
MANIFEST = json.loads((FILES / "manifest.json").read_text(encoding="utf-8"))
CASES = {case["id"]: case for case in MANIFEST["cases"]}
OUTSIDE_INN = MANIFEST["outside_inn"]
# Built by _drop and dropped as they are; the other cases need a writer, a swap or another user.
DROPPED = [case for case in MANIFEST["cases"]
           if case["entry"] in ("symlink", "fifo", "hardlink", "folder", "file")]
NORMAL, NORMAL_INN = FILES / "appended_rows.csv", "6677276935"   # the file dropped after each hostile one
OTHER, OTHER_INN = FILES / "another_client.csv", "661909802738"
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2   # <linux/prctl.h>, <linux/capability.h>


def _name(case: dict[str, Any]) -> str:
    """The entry's name as Python sees it on disk: bytes that are not UTF-8 become surrogates."""
    return os.fsdecode(bytes.fromhex(case["name_hex"])) if "name_hex" in case else case["name"]


def _shown(case: dict[str, Any]) -> str:
    """The name as reports, the store and mails show it."""
    return str(case.get("shown_name", case.get("name")))


def _outside(tmp_path: Path) -> Path:
    """outside.csv in a folder beside the workspace (the same filesystem, so it can be hard-linked)."""
    target = tmp_path / "outside" / "outside.csv"
    if not target.exists():
        target.parent.mkdir()
        shutil.copyfile(FILES / "outside.csv", target)
    return target


def _target(case: dict[str, Any], tmp_path: Path) -> Path:
    return Path(case["target"]) if os.path.isabs(case["target"]) else _outside(tmp_path)


def _drop(case: dict[str, Any], inbox: Path, tmp_path: Path) -> Path:
    """Build the case's entry in `inbox`."""
    path = inbox / _name(case)
    entry = case["entry"]
    if entry == "symlink":
        path.symlink_to(_target(case, tmp_path))
    elif entry == "hardlink":
        os.link(_target(case, tmp_path), path)
    elif entry == "fifo":
        os.mkfifo(path)
    elif entry == "folder":
        path.mkdir()
        shutil.copyfile(FILES / case["content"], path / "charges.csv")
    else:
        shutil.copyfile(FILES / case["content"], path)
    return path


def _edit_config(ws: Workspace, old: str, new: str) -> None:
    text = ws.config_path.read_text(encoding="utf-8")
    assert old in text
    ws.config_path.write_text(text.replace(old, new), encoding="utf-8")


def _rows(ws: Workspace, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(ws.state_path) as conn:
        return conn.execute(sql, args).fetchall()


def _invoice_totals(ws: Workspace, inn: str) -> list[str]:
    invoices = _rows(ws, "SELECT total FROM documents WHERE inn = ? AND kind = 'invoice'", inn)
    return [total for (total,) in invoices]


def _assert_nothing_from_outside(ws: Workspace) -> None:
    """No document, contract or counterparty names outside.csv's client: nothing outside was read."""
    for table in ("documents", "counterparties", "contracts"):
        assert _rows(ws, f"SELECT COUNT(*) FROM {table} WHERE inn = ?", OUTSIDE_INN) == [(0,)], table


def _quarantined(ws: Workspace, name: str) -> dict[str, Any]:
    """The report of `name`, once the entry itself is in quarantine (its last step), not in the inbox."""
    entry = ws.quarantine("charges") / name
    wait_for(lambda: os.path.lexists(entry), what=f"{name!r} in quarantine")
    assert not os.path.lexists(ws.inbox("charges") / name) and os.listdir(ws.work("charges")) == []
    report = ws.quarantine("charges") / sidecar_name(name, ".errors.json")
    return dict(json.loads(report.read_text(encoding="utf-8")))


def _assert_outcome(ws: Workspace, case: dict[str, Any], tmp_path: Path) -> None:
    """What the manifest expects of the case, once the daemon (or `process`) is done with it."""
    name, expected = _name(case), case["expected"]
    if expected["outcome"] == "quarantined":
        report = _quarantined(ws, name)
        assert report["reason"].startswith(expected["reason"]), report["reason"]
        assert report["file"] == _shown(case)
        wait_for(lambda: f"«{_shown(case)}»" in _notice_subjects(ws), what="the operator's notice")
        assert f"quarantine/charges/{_shown(case)}" in _status_lines(ws)
        if case["entry"] == "symlink":  # the link itself was moved, its target never touched
            assert os.readlink(ws.quarantine("charges") / name) == str(_target(case, tmp_path))
    else:
        archived = wait_for(lambda: [p for p in files_in(ws.root / "archive") if p.name == name],
                            what=f"{name!r} archived under its own name")
        assert archived[0].read_bytes() == (FILES / case["content"]).read_bytes()
        assert (_shown(case), "done") in _rows(ws, "SELECT name, outcome FROM files")
    if case.get("target") == "outside.csv":
        assert _outside(tmp_path).read_bytes() == (FILES / "outside.csv").read_bytes()
    _assert_nothing_from_outside(ws)


def _status_lines(ws: Workspace) -> list[str]:
    """`billdrop status` as printed (UTF-8 text), split into stripped lines."""
    store = Store(ws.state_path)
    try:
        text = format_status(collect_status(ws, store, date.today()))
    finally:
        store.close()
    text.encode("utf-8")  # printable: a name's undecodable bytes used to make print() fail
    return [line.strip() for line in text.splitlines()]


def _notice_subjects(ws: Workspace) -> str:
    """The subjects of the mails written to mail/ (the workspace has no SMTP relay), one per line."""
    parse = BytesParser(policy=policy.default).parsebytes
    return "\n".join(str(parse(p.read_bytes())["Subject"]) for p in files_in(ws.mail_dir, "*.eml"))


class Daemon:
    """A running `billdrop run` and its JSON-lines log."""

    def __init__(self, ws: Workspace, log_path: Path, **popen: Any) -> None:
        self.ws = ws
        self.log_path = log_path
        self.proc = start_daemon(ws, log_path, **popen)

    def events(self, name: str) -> list[dict[str, Any]]:
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        parsed = (json.loads(line) for line in lines if line.startswith("{"))
        return [event for event in parsed if event.get("event") == name]

    def drop_normal_file(self, source: Path = NORMAL, inn: str = NORMAL_INN) -> None:
        """A normal file dropped now is processed: its invoice issued, the original archived."""
        shutil.copyfile(source, self.ws.inbox("charges") / f"normal-{source.name}")
        wait_for(lambda: _invoice_totals(self.ws, inn), what="the normal file's invoice")
        wait_for(lambda: files_in(self.ws.root / "archive", f"normal-{source.name}"), what="it archived")
        assert self.proc.poll() is None


@contextmanager
def _running(ws: Workspace, log_path: Path, **popen: Any) -> Iterator[Daemon]:
    daemon = Daemon(ws, log_path, **popen)
    try:
        wait_for(lambda: daemon.events("service.started") or daemon.proc.poll() is not None, what="the start")
        assert daemon.proc.poll() is None, log_path.read_text(encoding="utf-8")
        yield daemon
        assert daemon.proc.poll() is None  # alive to the end
    finally:
        daemon.proc.send_signal(signal.SIGTERM)
        code = daemon.proc.wait(timeout=60)
    assert code == 0


@pytest.mark.parametrize("case", DROPPED, ids=lambda case: case["id"])
def test_the_daemon_refuses_or_keeps_each_entry_and_takes_the_next_file(case, tmp_path):
    """Dropped into a watched inbox: refused with its reason (or kept, for odd names), nothing outside
    read, and a normal file dropped right after is processed by the same daemon."""
    ws = make_workspace(tmp_path / "ws")
    with _running(ws, tmp_path / "daemon.log") as daemon:
        _drop(case, ws.inbox("charges"), tmp_path)
        _assert_outcome(ws, case, tmp_path)
        daemon.drop_normal_file()
    assert _invoice_totals(ws, NORMAL_INN) == ["940.00"]


def test_process_refuses_each_entry_as_the_daemon_does(tmp_path):
    """`billdrop process` with all of them in the inbox at once: none followed, none blocks, exit 1."""
    ws = make_workspace(tmp_path / "ws")
    for case in DROPPED:
        _drop(case, ws.inbox("charges"), tmp_path)
    assert main(["process", "-w", str(ws.root)]) == 1
    for case in DROPPED:
        _assert_outcome(ws, case, tmp_path)


@pytest.mark.parametrize(("path", "reason"),
                         [("fifo", "именованный канал (FIFO)"), ("/dev/zero", "файл устройства")])
def test_check_reads_only_regular_files(path, reason, tmp_path, capsys):
    """`check` of a FIFO or /dev/zero returns at once with the reason (it used to hang or read forever)."""
    if path == "fifo":
        path = str(tmp_path / "charges.csv")
        os.mkfifo(path)
    assert main(["check", path, "--source", "charges"]) == 1
    assert f"{Path(path).name}: {reason}" in capsys.readouterr().out


def _without_dac_override() -> None:
    """Popen's preexec_fn: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so after
    exec root is held to file permissions like a dedicated service user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_an_unreadable_file_is_quarantined_and_reported(tmp_path):
    """A file the daemon may not read (mode 0600 of another owner; as root the daemon runs without the
    capabilities that bypass permissions): quarantined with the reason at once, not retried forever."""
    case = CASES["unreadable"]
    ws = make_workspace(tmp_path / "ws")
    staged = tmp_path / _name(case)
    shutil.copyfile(FILES / case["content"], staged)
    popen: dict[str, Any] = {}
    if os.geteuid() == 0:
        os.chown(staged, 65534, 65534)  # nobody's
        staged.chmod(0o600)
        popen["preexec_fn"] = _without_dac_override
    else:
        staged.chmod(0)
    with _running(ws, tmp_path / "daemon.log", **popen) as daemon:
        staged.rename(ws.inbox("charges") / staged.name)
        report = _quarantined(ws, staged.name)
        assert report["reason"].startswith(case["expected"]["reason"]), report["reason"]
        assert "-rw-------" in report["reason"] or "----------" in report["reason"]
        _assert_nothing_from_outside(ws)
        daemon.drop_normal_file()
        assert daemon.events("file.failed") == []


class _HeldSmtp:
    """A loopback SMTP server that holds every DATA until `release()`: the daemon's worker waits in its
    mail flush meanwhile, while its watcher goes on marking files ready."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self._release = threading.Event()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=30.0)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 -- aiosmtpd's name
        self.entered.set()
        await asyncio.get_running_loop().run_in_executor(None, self._release.wait, 120.0)
        return "250 OK"

    def release(self) -> None:
        self._release.set()

    def __enter__(self) -> _HeldSmtp:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._controller.stop()


def test_a_symlink_swapped_in_after_readiness_is_not_followed(tmp_path):
    """The watcher marked a regular file ready; before the worker claimed it, it was replaced by a link
    to a file outside. The claim takes the link itself, which is refused: neither file is read."""
    case = CASES["swapped-after-ready"]
    with _HeldSmtp() as smtp:
        ws = make_workspace(tmp_path / "ws", smtp_port=smtp.port)
        _edit_config(ws, 'security = "none"\n', 'security = "none"\ntimeout_seconds = 120\n')
        with _running(ws, tmp_path / "daemon.log") as daemon:
            shutil.copyfile(NORMAL, ws.inbox("charges") / "first.csv")  # its invoice mail holds the worker
            wait_for(smtp.entered.is_set, what="the worker held in its mail flush")
            inbox = ws.inbox("charges")
            shutil.copyfile(FILES / case["content"], inbox / case["name"])
            wait_for(lambda: [e for e in daemon.events("file.ready") if e["file"] == case["name"]],
                     what="the file marked ready")
            (inbox / ".swap").symlink_to(_target(case, tmp_path))  # a dot-file: junk, never watched
            os.replace(inbox / ".swap", inbox / case["name"])
            smtp.release()
            report = _quarantined(ws, case["name"])
            assert report["reason"].startswith(case["expected"]["reason"]), report["reason"]
            _assert_nothing_from_outside(ws)
            assert _invoice_totals(ws, OTHER_INN) == []  # the file that was swapped out was not read either
            daemon.drop_normal_file(OTHER, OTHER_INN)


def _append_rows(path: Path, rows: list[bytes], pause_s: float) -> None:
    """`echo header > f; for row in rows; do echo "$row" >> f; sleep 1; done`: reopened for every row."""
    path.write_bytes(rows[0])
    for row in rows[1:]:
        with open(path, "ab") as handle:
            handle.write(row)
        time.sleep(pause_s)


def test_an_appending_writer_gets_one_whole_invoice(tmp_path):
    """Rows appended a second apart, each by a new open and close: the file is taken once, whole, after
    `quiet_seconds` of quiet — one invoice of 940,00, not one of 100,00 and fragments in quarantine."""
    case = CASES["appending-writer"]
    ws = make_workspace(tmp_path / "ws")
    _edit_config(ws, "quiet_seconds = 0.3 ", f"quiet_seconds = {case['quiet_seconds']} ")
    rows = (FILES / case["content"]).read_bytes().splitlines(keepends=True)
    path = ws.inbox("charges") / case["name"]
    with _running(ws, tmp_path / "daemon.log") as daemon:
        writer = threading.Thread(target=_append_rows, args=(path, rows, case["pause_seconds"]))
        writer.start()
        writer.join()
        archived = wait_for(lambda: files_in(ws.root / "archive", case["name"]), what="the file archived")
        assert [p.read_bytes() for p in archived] == [b"".join(rows)]
        assert _invoice_totals(ws, NORMAL_INN) == [case["expected"]["invoice_total"]]
        assert files_in(ws.root / "quarantine") == []
        assert [e["file"] for e in daemon.events("file.ready")] == [case["name"]]


def test_an_inbox_that_is_a_symlink_is_refused_at_start(tmp_path):
    """inbox/charges linked to a folder elsewhere: the daemon exits 2 naming it, nothing moved out of it."""
    ws = make_workspace(tmp_path / "ws")
    elsewhere = _outside(tmp_path).parent
    ws.inbox("charges").rmdir()
    ws.inbox("charges").symlink_to(elsewhere, target_is_directory=True)
    daemon = Daemon(ws, tmp_path / "daemon.log")
    assert daemon.proc.wait(timeout=60) == 2
    log = (tmp_path / "daemon.log").read_text(encoding="utf-8")
    assert "символические ссылки вместо папок: inbox/charges" in log
    assert os.listdir(elsewhere) == ["outside.csv"]
