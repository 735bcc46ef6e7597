"""Drop-to-PDF latency of a one-payout file through the running daemon, with the shipped default config."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from daemon.cli import init_workspace
from tests.workspaces import ROOT, start_daemon, wait_for

SAMPLES = ROOT / "samples" / "payouts"


def payout_latency(tmp: Path, runs: int = 5) -> list[float]:
    """Seconds from a one-row payout file landing in inbox/payouts to its act in outbox/platform."""
    ws = init_workspace(tmp / "latency")
    log_path = tmp / "latency.log"
    proc = start_daemon(ws, log_path)
    try:
        wait_for(lambda: "service.started" in log_path.read_text(encoding="utf-8"), what="daemon started")
        shutil.copy(SAMPLES / "payouts_2026-11-20.csv", ws.inbox("payouts"))  # the agents become known
        wait_for((ws.outbox("platform") / "90008.pdf").exists, what="first payouts")
        one_row = (SAMPLES / "payout_90101.csv").read_text(encoding="utf-8")
        seconds = []
        for run in range(runs):
            payout_id = str(90101 + run)
            text = one_row.replace("\n90101,", f"\n{payout_id},").replace("2026-11-24", f"2026-11-{24 + run}")
            staged = ws.root / f"staged-{payout_id}.csv"
            staged.write_text(text, encoding="utf-8")
            started = time.perf_counter()
            staged.rename(ws.inbox("payouts") / f"payout_{payout_id}.csv")  # as a platform drops it: whole
            act = ws.outbox("platform") / f"{payout_id}.pdf"
            wait_for(act.exists, timeout=30, what="the act")
            seconds.append(time.perf_counter() - started)
        return seconds
    finally:
        proc.terminate()
        proc.wait(timeout=30)

