"""The systemd watchdog is fed while work makes progress and starves when the runner hangs (sd_notify over a
unix datagram socket, as systemd listens; gaps compared with WatchdogSec as ratios)."""
from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest

from benchmarks.generate import charges_csv
from tests.workspaces import ROOT, files_in, make_workspace, start_daemon, wait_for

pytestmark = pytest.mark.slow
CONTRACTS = 2000   # an invoice each: far longer to issue than WatchdogSec below


@dataclass
class NotifySocket:
    """What a service sends to $NOTIFY_SOCKET, each message with the monotonic time it arrived."""

    path: Path
    messages: list[tuple[float, str]] = field(default_factory=list)

    def pings(self, since: float = 0.0) -> list[float]:
        return [t for t, m in list(self.messages) if t >= since and "WATCHDOG=1" in m.split("\n")]

    def ready(self) -> bool:
        return any("READY=1" in m for _, m in list(self.messages))


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    folder = Path(tempfile.mkdtemp(prefix="bd-notify-"))   # short: a socket path is at most 107 bytes
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(folder / "notify"))
    sock.settimeout(0.2)
    received = NotifySocket(folder / "notify")
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            received.messages.append((time.monotonic(), data.decode()))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    yield received
    done.set()
    reader.join()
    sock.close()
    (folder / "notify").unlink()
    folder.rmdir()


def _watchdog(monkeypatch, notify: NotifySocket, watchdog_s: float) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    monkeypatch.setenv("WATCHDOG_USEC", str(int(watchdog_s * 1_000_000)))
    monkeypatch.delenv("WATCHDOG_PID", raising=False)


def test_the_watchdog_is_fed_through_a_long_file(tmp_path, monkeypatch, notify_socket):
    """A month of thousands of contracts takes several WatchdogSec to issue; no gap between pings comes near
    WatchdogSec (the old loop-only ping left one gap as long as the file)."""
    watchdog_s = 8.0
    _watchdog(monkeypatch, notify_socket, watchdog_s)
    ws = make_workspace(tmp_path / "ws")
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(text.replace('documents = ["invoice", "act"]', 'documents = ["invoice"]', 1),
                              encoding="utf-8")
    proc = start_daemon(ws, tmp_path / "daemon.log")
    try:
        wait_for(notify_socket.ready, what="READY=1")
        started = time.monotonic()
        (ws.inbox("charges") / "month.csv").write_bytes(charges_csv(CONTRACTS, 1))
        wait_for(lambda: files_in(ws.root / "archive"), timeout=900, what="the month issued")
        finished = time.monotonic()
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert (finished - started) / watchdog_s > 2   # the file outlasted WatchdogSec: the test means something
    pings = [started, *notify_socket.pings(since=started), finished]
    worst = max(b - a for a, b in pairwise(pings))
    assert worst / watchdog_s < 0.5, f"a gap of {worst:.1f} s in {finished - started:.0f} s"


HANGING_RUN = """
import sys, threading
from pathlib import Path
from daemon.render import pdf

def hang(self, documents, company):
    Path(sys.argv[1]).touch()
    threading.Event().wait()   # a renderer that never returns

pdf.PdfPool.render_many = hang
from daemon.cli import main
sys.exit(main(["run", "-w", sys.argv[2]]))
"""


def test_a_hung_runner_stops_the_pings(tmp_path, monkeypatch, notify_socket, shared_samples):
    """The renderer blocks forever: pings go on for at most about WatchdogSec after the last progress, then
    none, so systemd would restart the service."""
    watchdog_s = 2.0
    _watchdog(monkeypatch, notify_socket, watchdog_s)
    ws = make_workspace(tmp_path / "ws")
    hung = tmp_path / "hung"
    proc = subprocess.Popen([sys.executable, "-c", HANGING_RUN, str(hung), str(ws.root)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(notify_socket.ready, what="READY=1")
        (ws.inbox("charges") / "month.csv").write_bytes(
            (shared_samples / "charges" / "isp_charges_2026-11.csv").read_bytes())
        wait_for(hung.exists, what="the renderer hung")
        since = time.monotonic()
        time.sleep(4 * watchdog_s)
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert notify_socket.pings(since=0.0)   # it was fed before the hang
    late = [(t - since) / watchdog_s for t in notify_socket.pings(since=since)]
    assert all(ratio < 1.25 for ratio in late), late   # none after WatchdogSec without progress
