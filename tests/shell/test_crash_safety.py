"""SIGKILL at random moments over many files, then a restart, gives exactly what an undisturbed run gives."""
from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from email import policy
from email.parser import BytesParser

import pytest

from benchmarks.generate import charges_csv
from daemon.cli import main
from tests.workspaces import ROOT, files_in, make_workspace

pytestmark = pytest.mark.slow


def _process(ws) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "daemon", "process", "-w", str(ws.root)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _snapshot(ws) -> dict:
    """Numbers, totals, every output's bytes (XML without its creation time) and every mail."""
    with sqlite3.connect(ws.state_path) as conn:
        documents = conn.execute(
            "SELECT kind, number, inn, total, fingerprint FROM documents ORDER BY 1, 2"
        ).fetchall()
        sequences = conn.execute("SELECT kind, scope, last FROM sequences ORDER BY 1, 2").fetchall()
    pdfs = {p.relative_to(ws.root).as_posix(): p.read_bytes() for p in files_in(ws.root / "documents")}
    xml = sorted(  # file names carry the commit time, so compare the messages, not their order
        re.sub(rb"<msg:CreationDate>[^<]*</msg:CreationDate>", b"", p.read_bytes())
        for p in files_in(ws.outbox("1c"))
    )
    mails = []
    for eml in files_in(ws.mail_dir, "*.eml"):
        message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
        attachments = [(a.get_filename(), a.get_content()) for a in message.iter_attachments()]
        mails.append((message["Message-ID"], message["To"], message["Subject"], attachments))
    return {"documents": documents, "sequences": sequences, "pdfs": pdfs, "xml": xml, "mails": sorted(mails)}


def _drop(ws, exports: list[bytes]) -> None:
    """The files in a fixed order (mtime), as a billing drops them one after another."""
    for n, export in enumerate(exports):
        path = ws.inbox("charges") / f"charges {n:02d}.csv"
        path.write_bytes(export)
        os.utime(path, (1_700_000_000 + n, 1_700_000_000 + n))


def test_sigkill_at_random_points_over_fifty_files_changes_nothing(tmp_path):
    """Kill -9 at random moments over 50 files, restarting each time; the end state equals a calm run."""
    months = [date(2022 + m // 12, m % 12 + 1, 1) for m in range(50)]
    exports = [
        charges_csv(contracts=2, services_per_contract=2, period=month, seed=m)
        for m, month in enumerate(months)
    ]

    calm = make_workspace(tmp_path / "calm")
    _drop(calm, exports)
    assert _process(calm).wait(timeout=300) == 0
    expected = _snapshot(calm)
    assert len(expected["documents"]) == 200 and len(expected["mails"]) == 100

    crashed = make_workspace(tmp_path / "crashed")
    _drop(crashed, exports)
    rng = random.Random(20261125)
    kills = killed_mid_file = 0
    while kills < 12:
        proc = _process(crashed)
        # a random moment after a file was claimed: parsing, the commit, rendering or archiving
        while proc.poll() is None and not files_in(crashed.work("charges")):
            time.sleep(0.01)
        if proc.poll() is not None:
            break  # nothing left to claim: it finished before this kill
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is not None:
            break
        killed_mid_file += bool(files_in(crashed.work("charges")))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    assert _process(crashed).wait(timeout=300) == 0
    assert kills == 12 and killed_mid_file >= 6, f"{killed_mid_file} of {kills} kills landed in a file"
    assert _snapshot(crashed) == expected


def test_a_restart_removes_the_temp_files_of_writers_killed_mid_write(tmp_path):
    """A PDF worker killed mid-write (it dies with the daemon) leaves «.x.pdf.<pid>.tmp»; the next start
    removes it, and keeps the temp files of writers still running."""
    ws = make_workspace(tmp_path / "ws")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = ws.root / "documents" / "6600000010" / "2022-01"
    folder.mkdir(parents=True)
    stale = folder / f".Счет_2201-00002.pdf.{dead.pid}.tmp"
    living = folder / f".Акт_2201-00001.pdf.{os.getpid()}.tmp"
    for path in (stale, living):
        path.write_bytes(b"%PDF-1.7 half")
    assert main(["process", "-w", str(ws.root)]) == 0
    assert not stale.exists() and living.exists()
