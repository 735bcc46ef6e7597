"""`billdrop status`: what it counts in quarantine."""
from __future__ import annotations

from datetime import date

from daemon.status import collect_status
from daemon.store import Store
from tests.workspaces import make_workspace


def test_quarantine_counts_files_not_their_reports(tmp_path):
    """A quarantined file with its .errors.json, .errors.html and .errors.xlsx beside it counts once."""
    ws = make_workspace(tmp_path / "ws")
    folder = ws.quarantine("charges")
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("bad.csv", "Начисления.xlsx"):
        (folder / name).write_bytes(b"x")
        for suffix in (".errors.json", ".errors.html", ".errors.xlsx"):  # what the pipeline writes beside it
            (folder / f"{name}{suffix}").write_bytes(b"report")
    store = Store(ws.state_path)
    try:
        status = collect_status(ws, store, date(2026, 12, 2))
    finally:
        store.close()
    assert status["quarantine"] == ["quarantine/charges/bad.csv", "quarantine/charges/Начисления.xlsx"]

