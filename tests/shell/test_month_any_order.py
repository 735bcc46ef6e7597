"""The shipped sample month converges to the same state whatever order its files arrive in."""
from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
from datetime import timedelta
from decimal import Decimal

import pytest

from daemon.cli import main
from daemon.config import load_settings
from daemon.core.report import is_sidecar
from daemon.demo import DEMO_ROUNDS
from daemon.service import local_now, remind_once
from tests.workspaces import ROOT, files_in, make_workspace, start_daemon, wait_for

pytestmark = pytest.mark.slow
SAFE = [sample for round_ in DEMO_ROUNDS for sample in round_]
DEMO_SAMPLES = ROOT / "samples"   # what `billdrop demo` drops: the shipped samples
ORDERS = {"safe": SAFE, "reverse": SAFE[::-1], "shuffled": random.Random(12).sample(SAFE, len(SAFE))}


def _state(ws) -> dict[str, list]:
    """Documents, payments, allocations, balances and mail jobs, as the ledger holds them."""
    with sqlite3.connect(ws.state_path) as conn:
        return {
            "documents": conn.execute(
                "SELECT kind, number, inn, total FROM documents ORDER BY 1, 2"
            ).fetchall(),
            "payments": conn.execute("SELECT key, matched FROM payments ORDER BY 1").fetchall(),
            "allocations": conn.execute(
                "SELECT payment_key, invoice_number, amount, rule, explanation FROM allocations ORDER BY 1, 2"
            ).fetchall(),
            "balances": conn.execute("SELECT inn, amount FROM balances ORDER BY 1").fetchall(),
            "mail": conn.execute("SELECT dedupe_key FROM mail_jobs ORDER BY 1").fetchall(),
        }


def _reminded_paid(ws) -> list[str]:
    """Invoices with a reminder queued although fully paid."""
    with sqlite3.connect(ws.state_path) as conn:
        totals = dict(conn.execute("SELECT number, total FROM documents WHERE kind = 'invoice'"))
        paid: dict[str, Decimal] = {}
        for number, amount in conn.execute("SELECT invoice_number, amount FROM allocations"):
            paid[number] = paid.get(number, Decimal(0)) + Decimal(amount)
        reminded = {key.split(":")[1] for (key,) in conn.execute(
            "SELECT dedupe_key FROM mail_jobs WHERE dedupe_key LIKE 'reminder:%'")}
    return sorted(n for n in reminded if paid.get(n, Decimal(0)) >= Decimal(totals[n]))


def _remind_two_weeks_on(ws) -> None:
    """Invoices are dated the day they are issued, due 10 days later: two weeks on, the first reminder."""
    remind_once(ws, load_settings(ws.root), lambda: local_now() + timedelta(days=14))


def _month_through_daemon(tmp_path, samples, order: list[str]):
    """Every sample written in `order` (mtimes a second apart), renamed into the inboxes at once."""
    ws = make_workspace(tmp_path / "ws")
    proc = start_daemon(ws, tmp_path / "daemon.log")
    wait_for(lambda: "service.started" in (tmp_path / "daemon.log").read_text(), what="daemon started")
    staged = []
    for index, sample in enumerate(order):
        source, name = sample.split("/")
        copy = tmp_path / f"staged-{index}-{name}"
        shutil.copy(samples / sample, copy)
        os.utime(copy, (1_790_000_000 + index, 1_790_000_000 + index))
        staged.append((copy, ws.inbox(source) / name))
    for copy, target in staged:
        os.rename(copy, target)
    def taken() -> int:  # archived or quarantined, the reports beside quarantined files not counted
        quarantined = [p for p in files_in(ws.root / "quarantine") if not is_sidecar(p.name)]
        return len(files_in(ws.root / "archive")) + len(quarantined)

    wait_for(lambda: taken() >= len(order), timeout=120, what="every file processed")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    _remind_two_weeks_on(ws)
    return ws


@pytest.fixture(scope="module")
def safe_month(tmp_path_factory):
    ws = _month_through_daemon(tmp_path_factory.mktemp("safe"), DEMO_SAMPLES, ORDERS["safe"])
    return ws, _state(ws)


@pytest.mark.parametrize("order", ["reverse", "shuffled"])
def test_month_in_any_order_ends_as_in_the_safe_order(order, safe_month, tmp_path):
    """Reverse and shuffled drops give the safe order's documents, payments, balances and mails."""
    ws = _month_through_daemon(tmp_path, DEMO_SAMPLES, ORDERS[order])
    assert files_in(ws.root / "quarantine") == []
    assert _state(ws) == safe_month[1]


def test_safe_order_quarantines_nothing_and_reminds_only_unpaid(safe_month):
    """The safe order accepts every file, and no reminder is queued for a paid invoice."""
    ws, state = safe_month
    assert files_in(ws.root / "quarantine") == []
    assert any(key.startswith("reminder:") for (key,) in state["mail"])
    assert _reminded_paid(ws) == []


def test_statement_before_its_invoices_pays_them(tmp_path, shared_samples):
    """A statement processed before the charges it pays ends as if after them; no paid client is reminded."""
    first = make_workspace(tmp_path / "first")
    shutil.copy(shared_samples / "bank" / "kl_to_1c_2026-11.txt", first.inbox("bank"))
    assert main(["process", "-w", str(first.root)]) == 0
    shutil.copy(shared_samples / "charges" / "isp_charges_2026-11.csv", first.inbox("charges"))
    assert main(["process", "-w", str(first.root)]) == 0
    after = make_workspace(tmp_path / "after")
    shutil.copy(shared_samples / "charges" / "isp_charges_2026-11.csv", after.inbox("charges"))
    shutil.copy(shared_samples / "bank" / "kl_to_1c_2026-11.txt", after.inbox("bank"))
    assert main(["process", "-w", str(after.root)]) == 0
    for ws in (first, after):
        _remind_two_weeks_on(ws)
    ours, theirs = _state(first), _state(after)
    assert ours["allocations"] == theirs["allocations"] and ours["balances"] == theirs["balances"]
    assert ours["payments"] == theirs["payments"]
    assert _reminded_paid(first) == []
    assert [k for (k,) in ours["mail"] if k.startswith("reminder:")] == [
        k for (k,) in theirs["mail"] if k.startswith("reminder:")]
