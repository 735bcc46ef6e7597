"""SIGKILL in the middle of a file, then a restart, gives exactly what an undisturbed run gives."""
from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from email import policy
from email.parser import BytesParser

import pytest

from benchmarks.generate import charges_csv
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
        documents = conn.execute("SELECT kind, number, inn, total, fingerprint FROM documents ORDER BY 1, 2").fetchall()
        sequences = conn.execute("SELECT kind, scope, last FROM sequences ORDER BY 1, 2").fetchall()
    pdfs = {p.relative_to(ws.root).as_posix(): p.read_bytes() for p in files_in(ws.root / "documents")}
    xml = [
        re.sub(rb"<msg:CreationDate>[^<]*</msg:CreationDate>", b"", p.read_bytes())
        for p in files_in(ws.outbox("1c"))
    ]
    mails = []
    for eml in files_in(ws.mail_dir, "*.eml"):
        message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
        attachments = [(a.get_filename(), a.get_content()) for a in message.iter_attachments()]
        mails.append((message["Message-ID"], message["To"], message["Subject"], attachments))
    return {"documents": documents, "sequences": sequences, "pdfs": pdfs, "xml": xml, "mails": sorted(mails)}


def test_sigkill_at_random_points_changes_nothing(tmp_path):
    """Kill -9 during processing, again and again; the finished state equals an undisturbed run."""
    export = charges_csv(contracts=40, services_per_contract=3)

    calm = make_workspace(tmp_path / "calm")
    (calm.inbox("charges") / "charges.csv").write_bytes(export)
    assert _process(calm).wait(timeout=300) == 0
    expected = _snapshot(calm)
    assert len(expected["documents"]) == 80 and len(expected["mails"]) == 40

    crashed = make_workspace(tmp_path / "crashed")
    (crashed.inbox("charges") / "charges.csv").write_bytes(export)
    killed_mid_file = 0
    for delay in (1.5, 2.5, 3.5, 4.5, 6.0):
        proc = _process(crashed)
        time.sleep(delay)
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_mid_file += bool(files_in(crashed.root / "work"))
    assert _process(crashed).wait(timeout=300) == 0
    assert killed_mid_file >= 1, "no kill landed while the file was being processed"
    assert _snapshot(crashed) == expected
