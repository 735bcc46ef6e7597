"""Faults the running daemon survives: a full disk while writing outputs, an inbox removed and recreated."""
from __future__ import annotations

import errno
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.workspaces import files_in, make_workspace, start_daemon, wait_for

pytestmark = pytest.mark.slow
CHARGES = "isp_charges_2026-11.csv"


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 4 MB tmpfs (root only: CI runs as root; elsewhere the test says why it cannot run)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True, check=False)  # a failure skips, below
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {result.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=True)


def _fill(folder: Path) -> Path:
    """Write until the filesystem says it is full; returns the filler to delete when space comes back."""
    filler = folder / "filler.bin"
    block = b"\0" * 65536
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(block)
                handle.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise  # any other failure is the test's to report, as itself
    return filler


def _document_count(ws) -> int:
    with sqlite3.connect(ws.state_path) as conn:
        return conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]


def test_disk_full_while_writing_pdfs_then_space_returns(tmp_path, shared_samples, small_disk):
    """No PDF can be written: the file waits in work/, no partial file left; space returns, it is finished."""
    ws = make_workspace(tmp_path / "ws")
    documents = ws.root / "documents"
    documents.rmdir()
    documents.symlink_to(small_disk, target_is_directory=True)
    filler = _fill(small_disk)
    proc = start_daemon(ws, tmp_path / "daemon.log")
    try:
        shutil.copy(shared_samples / "charges" / CHARGES, ws.inbox("charges"))
        wait_for(
            lambda: "No space left on device" in (tmp_path / "daemon.log").read_text(encoding="utf-8"),
            what="the failed write logged",
        )
        assert [p.name for p in files_in(ws.work("charges"))] == [CHARGES]
        assert files_in(ws.root / "archive") == []
        assert [p for p in files_in(small_disk) if p != filler] == []  # no half-written or temporary file
        assert _document_count(ws) == 50  # committed once: numbers are kept for the retry
        assert proc.poll() is None

        filler.unlink()
        wait_for(lambda: files_in(ws.root / "archive"), what="the file finished once space returned")
        pdfs = files_in(small_disk, "*.pdf")
        assert len(pdfs) == 50 and all(p.read_bytes().rstrip().endswith(b"%%EOF") for p in pdfs)
        assert _document_count(ws) == 50 and files_in(ws.work("charges")) == []
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_inbox_removed_and_recreated_is_watched_again(tmp_path, shared_samples):
    """A share remount: the inbox folder vanishes and comes back; files dropped afterwards are still taken."""
    ws = make_workspace(tmp_path / "ws")
    proc = start_daemon(ws, tmp_path / "daemon.log")
    try:
        wait_for(
            lambda: "service.started" in (tmp_path / "daemon.log").read_text(encoding="utf-8"),
            what="the daemon started",
        )
        shutil.rmtree(ws.inbox("charges"))
        wait_for(
            lambda: (
                "watcher."
                in (tmp_path / "daemon.log").read_text(encoding="utf-8").split("service.started")[1]
            ),
            what="the lost folder noticed",
        )
        ws.inbox("charges").mkdir()
        shutil.copy(shared_samples / "charges" / CHARGES, ws.inbox("charges"))
        wait_for(lambda: files_in(ws.root / "archive"), what="the file taken from the recreated inbox")
        assert _document_count(ws) == 50 and proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=30)
