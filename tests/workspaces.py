"""Test workspaces: `billdrop init` plus config edits, and waiting on the filesystem."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from daemon.cli import init_workspace
from daemon.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent


def make_workspace(root: Path, *, smtp_port: int | None = None, extra: str = "") -> Workspace:
    """A fresh workspace with short timings; mail to a loopback SMTP server when a port is given."""
    ws = init_workspace(root)
    text = ws.config_path.read_text(encoding="utf-8")
    text = text.replace("quiet_seconds = 5 ", "quiet_seconds = 0.3 ").replace(
        "rescan_seconds = 60 ", "rescan_seconds = 2 "
    )
    if smtp_port is not None:
        text = text.replace(
            "[watch]",
            f'[mail.smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n\n[watch]',
        )
    ws.config_path.write_text(text + extra, encoding="utf-8")
    return ws


def wait_for(condition: Callable[[], object], timeout: float = 60.0, what: str = "condition") -> object:
    """Poll `condition` until it is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def start_daemon(ws: Workspace, log_path: Path, **popen: Any) -> subprocess.Popen:
    """`billdrop run -w WS` as a real process, logging JSON lines to `log_path`; `popen` adds Popen
    arguments (`user=` to run it as another user)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "daemon", "run", "-w", str(ws.root)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log_path, "wb"),
        **popen,
    )


def files_in(folder: Path, pattern: str = "*") -> list[Path]:
    return sorted(p for p in folder.rglob(pattern) if p.is_file()) if folder.exists() else []


def pdf_text(path: Path) -> str:
    """The text of every page of a PDF, read back with pypdf, whitespace folded."""
    text = " ".join(page.extract_text() or "" for page in PdfReader(path).pages)
    return " ".join(text.replace("\u00a0", " ").split())
