"""The inbox watcher with real watchdog observers (inotify and polling) on temporary folders."""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from daemon.watcher import InboxWatcher, ReadyFile, WatchedFolder

QUIET_S = 0.3
# Generous: a loaded 2-core CI machine may stall threads for seconds; a pass returns much sooner.
DELIVERY_TIMEOUT_S = 20.0
# How long "nothing more arrives" is checked: several quiet periods and poll ticks.
SILENCE_S = 6 * QUIET_S
NO_RESCAN_S = 3600.0  # the periodic rescan must not be what delivers in tests of events


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox" / "charges"
    folder.mkdir(parents=True)
    return folder


def _start(
    folder: Path,
    *,
    polling: bool = False,
    polling_interval_s: float = 0.1,
    rescan_s: float = NO_RESCAN_S,
    quiet_s: float = QUIET_S,
) -> InboxWatcher:
    watcher = InboxWatcher(
        {"charges": WatchedFolder(folder, polling=polling, polling_interval_s=polling_interval_s)},
        quiet_s=quiet_s,
        rescan_s=rescan_s,
    )
    watcher.start()
    return watcher


@pytest.fixture
def watching(inbox: Path) -> Iterator[InboxWatcher]:
    watcher = _start(inbox)
    yield watcher
    watcher.stop()


def _deliveries(watcher: InboxWatcher, timeout_s: float = SILENCE_S) -> list[ReadyFile]:
    """Everything delivered until nothing more comes for `timeout_s`."""
    delivered = []
    while (ready := watcher.get(timeout=timeout_s)) is not None:
        delivered.append(ready)
    return delivered


def _wait_for(predicate: Callable[[], bool], what: str) -> None:
    """Poll a condition that a background thread makes true; fail with `what` after the timeout."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_file_present_at_start_is_delivered(inbox: Path) -> None:
    """The startup scan picks up files dropped while the daemon was down."""
    (inbox / "charges_2026-11.csv").write_bytes(b"a;b\n1;2\n")
    watcher = _start(inbox)
    try:
        ready = watcher.get(timeout=DELIVERY_TIMEOUT_S)
        assert ready == ReadyFile("charges", inbox / "charges_2026-11.csv")
        assert _deliveries(watcher) == []
    finally:
        watcher.stop()


def test_slowly_written_file_is_delivered_once_after_it_stops_growing(inbox: Path) -> None:
    """A writer adding chunks faster than the quiet period never lets the file out early."""
    quiet_s = 1.0  # longer here: only a writer stalled for a whole quiet period could fail this test
    path = inbox / "charges.csv"
    chunk = b"x" * 4096
    watcher = _start(inbox, quiet_s=quiet_s)
    try:
        with open(path, "wb") as writer:
            for _ in range(12):
                writer.write(chunk)
                writer.flush()
                time.sleep(0.05)  # the writer's pace: a slow export, well inside the quiet period
                assert watcher.get(timeout=0) is None, "delivered while still growing"
            last_write = time.monotonic()
        ready = watcher.get(timeout=DELIVERY_TIMEOUT_S)
        assert ready == ReadyFile("charges", path)
        # closed by its writer: the settle time, not the quiet period
        assert time.monotonic() - last_write >= 0.5
        assert path.stat().st_size == 12 * len(chunk)
        assert _deliveries(watcher) == []
    finally:
        watcher.stop()


def test_a_closed_file_goes_after_the_settle_time_an_open_one_waits_the_quiet_period(inbox: Path) -> None:
    """IN_CLOSE_WRITE says the writer is done: half a second, not the quiet period (1.5 s of it pass here)."""
    watcher = _start(inbox, quiet_s=3.0)
    try:
        with open(inbox / "held.csv", "wb") as writer:  # written, flushed, still open
            writer.write(b"a;b\n")
            writer.flush()
            (inbox / "payout.csv").write_bytes(b"id;sum\n1;2\n")
            closed_at = time.monotonic()
            ready = watcher.get(timeout=1.5)
            assert ready == ReadyFile("charges", inbox / "payout.csv")
            assert 0.5 <= time.monotonic() - closed_at < 1.5
            watcher.done(ready.path)
            assert watcher.get(timeout=1.0) is None, "an open file must wait the whole quiet period"
    finally:
        watcher.stop()


def test_a_file_renamed_in_whole_goes_after_the_settle_time(inbox: Path, tmp_path: Path) -> None:
    """A rename into the inbox is atomic: the file is complete, so the settle time is enough."""
    watcher = _start(inbox, quiet_s=3.0)
    try:
        staged = tmp_path / "staged.csv"
        staged.write_bytes(b"id;sum\n1;2\n")
        staged.rename(inbox / "payout.csv")
        renamed_at = time.monotonic()
        assert watcher.get(timeout=1.5) == ReadyFile("charges", inbox / "payout.csv")
        assert 0.5 <= time.monotonic() - renamed_at < 1.5
    finally:
        watcher.stop()


def test_junk_and_files_in_subfolders_are_never_delivered(inbox: Path, watching: InboxWatcher) -> None:
    """Lock files, OS metadata, partial downloads, dot-files and files in subfolders are ignored; a
    subfolder itself is delivered, for the runner to refuse (quarantine) by what it is."""
    for junk in (
        "~$charges.xlsx",
        ".~lock.charges.csv#",
        "Thumbs.db",
        "desktop.ini",
        "._charges.csv",
        ".DS_Store",
        "charges.csv.part",
        "charges.csv.tmp",
        "report.crdownload",
    ):
        (inbox / junk).write_bytes(b"junk")
    (inbox / "@eaDir").mkdir()
    (inbox / "@eaDir" / "charges.csv").write_bytes(b"nas thumbnail db")
    (inbox / "old").mkdir()
    (inbox / "old" / "charges.csv").write_bytes(b"a;b\n")
    (inbox / "charges.csv").write_bytes(b"a;b\n")  # written last: junk would be ready no later

    first = watching.get(timeout=DELIVERY_TIMEOUT_S)
    delivered = [first, *_deliveries(watching)]
    assert sorted(str(ready.path) for ready in delivered) == [str(inbox / "charges.csv"), str(inbox / "old")]


def test_polling_observer_delivers_new_files(inbox: Path) -> None:
    """On SMB/NFS shares polling replaces inotify; a file dropped after start arrives through it."""
    watcher = _start(inbox, polling=True)
    try:
        (inbox / "payouts.csv").write_bytes(b"a;b\n")
        assert watcher.get(timeout=DELIVERY_TIMEOUT_S) == ReadyFile("charges", inbox / "payouts.csv")
    finally:
        watcher.stop()


def test_a_file_moved_in_is_delivered(inbox: Path, tmp_path: Path, watching: InboxWatcher) -> None:
    """Producers that write elsewhere and rename into the inbox are seen (moved-in = created)."""
    staged = tmp_path / "staging.csv"
    staged.write_bytes(b"a;b\n")
    staged.rename(inbox / "charges.csv")
    assert watching.get(timeout=DELIVERY_TIMEOUT_S) == ReadyFile("charges", inbox / "charges.csv")


def test_a_duplicate_event_storm_delivers_one_item(inbox: Path, watching: InboxWatcher) -> None:
    """Hundreds of open/close/attribute events on one file queue it once."""
    path = inbox / "charges.csv"
    path.write_bytes(b"a;b\n")
    stat = path.stat()
    for _ in range(300):
        with open(path, "ab"):
            pass
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert watching.get(timeout=DELIVERY_TIMEOUT_S) == ReadyFile("charges", path)
    assert _deliveries(watching) == []


def test_a_file_in_flight_is_not_delivered_again_until_done(inbox: Path, watching: InboxWatcher) -> None:
    """Changes to a delivered file are ignored until done(); if it is still there, it comes again."""
    path = inbox / "charges.csv"
    path.write_bytes(b"a;b\n")
    assert watching.get(timeout=DELIVERY_TIMEOUT_S) == ReadyFile("charges", path)

    path.write_bytes(b"a;b\n1;2\n")  # the worker has not claimed it yet (say the claim was busy)
    assert _deliveries(watching) == []

    with capture_logs() as logs:
        watching.done(path)
    assert [e["file"] for e in logs if e["event"] == "file.still_in_inbox"] == ["charges.csv"]
    assert watching.get(timeout=DELIVERY_TIMEOUT_S) == ReadyFile("charges", path)


def test_the_same_name_dropped_again_after_done_is_delivered_again(
    inbox: Path, tmp_path: Path, watching: InboxWatcher
) -> None:
    """Claimed (moved away) and released, a re-dropped file with the same name is a new delivery."""
    path = inbox / "charges.csv"
    path.write_bytes(b"first")
    assert watching.get(timeout=DELIVERY_TIMEOUT_S) == ReadyFile("charges", path)
    path.rename(tmp_path / "claimed.csv")
    watching.done(path)

    path.write_bytes(b"second")
    assert watching.get(timeout=DELIVERY_TIMEOUT_S) == ReadyFile("charges", path)
    assert path.read_bytes() == b"second"


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_folder_removed_and_recreated_is_watched_again(inbox: Path, polling: bool) -> None:
    """An unmounted share or a deleted inbox: the observer is recreated and later files arrive by events."""
    with capture_logs() as logs:
        watcher = _start(inbox, polling=polling)
        try:
            shutil.rmtree(inbox)
            _wait_for(lambda: any(e["event"] == "watcher.observer_lost" for e in logs), "the loss noticed")
            inbox.mkdir()
            _wait_for(lambda: any(e["event"] == "watcher.observer_restarted" for e in logs), "a new observer")

            (inbox / "charges.csv").write_bytes(b"a;b\n")
            assert watcher.get(timeout=DELIVERY_TIMEOUT_S) == ReadyFile("charges", inbox / "charges.csv")
        finally:
            watcher.stop()


def test_a_folder_missing_at_start_is_watched_once_it_appears(tmp_path: Path) -> None:
    """A share not mounted yet when the daemon starts is picked up when it is."""
    folder = tmp_path / "inbox" / "bank"
    with capture_logs() as logs:
        watcher = _start(folder)
        try:
            assert any(e["event"] == "watcher.folder_missing" for e in logs)
            folder.mkdir(parents=True)
            _wait_for(lambda: any(e["event"] == "watcher.observer_started" for e in logs), "the observer")
            (folder / "statement.txt").write_bytes(b"1CClientBankExchange\n")
            assert watcher.get(timeout=DELIVERY_TIMEOUT_S) == ReadyFile("charges", folder / "statement.txt")
        finally:
            watcher.stop()


def test_the_periodic_rescan_finds_files_no_event_announced(inbox: Path) -> None:
    """A polling observer that never gets to poll stands for lost events: the rescan still delivers."""
    with capture_logs() as logs:
        watcher = _start(inbox, polling=True, polling_interval_s=NO_RESCAN_S, rescan_s=0.2)
        try:
            (inbox / "charges.csv").write_bytes(b"a;b\n")
            assert watcher.get(timeout=DELIVERY_TIMEOUT_S) == ReadyFile("charges", inbox / "charges.csv")
        finally:
            watcher.stop()
    assert any(e["event"] == "watcher.rescan" and e["untracked"] == 1 and not e["startup"] for e in logs)


def test_several_folders_report_their_source(tmp_path: Path) -> None:
    """Each delivery names the inbox it came from."""
    charges, payouts = tmp_path / "charges", tmp_path / "payouts"
    charges.mkdir()
    payouts.mkdir()
    watcher = InboxWatcher(
        {
            "charges": WatchedFolder(charges),
            "payouts": WatchedFolder(payouts, polling=True, polling_interval_s=0.1),
        },
        quiet_s=QUIET_S,
        rescan_s=NO_RESCAN_S,
    )
    watcher.start()
    try:
        (charges / "c.csv").write_bytes(b"1")
        (payouts / "p.csv").write_bytes(b"2")
        first = watcher.get(timeout=DELIVERY_TIMEOUT_S)
        second = watcher.get(timeout=DELIVERY_TIMEOUT_S)
        expected = {ReadyFile("charges", charges / "c.csv"), ReadyFile("payouts", payouts / "p.csv")}
        assert {first, second} == expected
    finally:
        watcher.stop()
