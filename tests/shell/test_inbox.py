"""Inbox files: junk names, readiness on an injected clock, claim races, no-overwrite moves, safe names,
reading only regular files."""
from __future__ import annotations

import hashlib
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from daemon.inbox import (
    FS_NAME_BYTES,
    MAX_NAME_BYTES,
    ReadinessTracker,
    Taken,
    Unfit,
    claim,
    finish,
    free_path,
    inside,
    is_junk,
    safe_name,
    take,
)

QUIET_S = 5.0


@pytest.mark.parametrize(
    "name",
    [
        "~$charges_2026-11.xlsx",
        ".~lock.charges_2026-11.csv#",
        "Thumbs.db",
        "THUMBS.DB",
        "desktop.ini",
        "._charges.csv",
        ".DS_Store",
        "@eaDir",
        "charges.csv.tmp",
        "charges.csv.part",
        "charges.xlsx.crdownload",
        ".hidden.csv",
        "",
    ],
)
def test_junk_names_are_ignored(name: str) -> None:
    """Office lock files, OS/NAS metadata, partial downloads and dot-files are junk."""
    assert is_junk(name)


@pytest.mark.parametrize(
    "name", ["charges_2026-11.csv", "Начисления ноябрь.xlsx", "payouts.CSV", "bank.txt", "tmp_report.csv"]
)
def test_real_exports_are_not_junk(name: str) -> None:
    """Ordinary export names, Cyrillic and spaces included, are not junk."""
    assert not is_junk(name)


def test_a_file_is_ready_only_after_two_equal_stats_a_quiet_period_apart() -> None:
    """One stat is not enough; the same size and mtime quiet_s later is."""
    tracker = ReadinessTracker(QUIET_S)
    path = Path("/inbox/charges.csv")
    tracker.observe(path, 100, 1, now=0.0)
    assert tracker.ready(now=4.9) == []
    tracker.observe(path, 100, 1, now=4.9)
    assert tracker.ready(now=4.9) == []
    tracker.observe(path, 100, 1, now=5.0)
    assert tracker.ready(now=5.0) == [path]


def test_a_growing_file_restarts_the_quiet_period() -> None:
    """A new size restarts the quiet period from the stat that saw it."""
    tracker = ReadinessTracker(QUIET_S)
    path = Path("/inbox/charges.csv")
    tracker.observe(path, 100, 1, now=0.0)
    tracker.observe(path, 200, 2, now=4.0)
    tracker.observe(path, 200, 2, now=8.0)
    assert tracker.ready(now=8.0) == []
    tracker.observe(path, 200, 2, now=9.0)
    assert tracker.ready(now=9.0) == [path]


def test_a_new_mtime_with_the_same_size_restarts_the_quiet_period() -> None:
    """A rewrite of the same length is a change too."""
    tracker = ReadinessTracker(QUIET_S)
    path = Path("/inbox/charges.csv")
    tracker.observe(path, 100, 1, now=0.0)
    tracker.observe(path, 100, 2, now=5.0)
    assert tracker.ready(now=5.0) == []


def test_an_event_restarts_the_quiet_period() -> None:
    """An event after the last stat holds the file back until a stat quiet_s after the event."""
    tracker = ReadinessTracker(QUIET_S)
    path = Path("/inbox/charges.csv")
    tracker.observe(path, 100, 1, now=0.0)
    tracker.touch(path, now=3.0)
    tracker.observe(path, 100, 1, now=6.0)
    assert tracker.ready(now=6.0) == []
    tracker.observe(path, 100, 1, now=8.0)
    assert tracker.ready(now=8.0) == [path]


def test_an_event_alone_never_makes_a_file_ready() -> None:
    """A path known only from events has no stat yet, so it is not ready however long it waits."""
    tracker = ReadinessTracker(QUIET_S)
    tracker.touch(Path("/inbox/charges.csv"), now=0.0)
    assert tracker.ready(now=100.0) == []


def test_an_empty_file_is_ready_after_the_quiet_period_like_any_other() -> None:
    """Zero bytes is not special here: the pipeline decides what an empty file means."""
    tracker = ReadinessTracker(QUIET_S)
    path = Path("/inbox/empty.csv")
    tracker.observe(path, 0, 1, now=0.0)
    assert tracker.ready(now=1.0) == []
    tracker.observe(path, 0, 1, now=5.0)
    assert tracker.ready(now=5.0) == [path]


def test_ready_files_come_oldest_first() -> None:
    """Files are delivered in the order they were first noticed."""
    tracker = ReadinessTracker(QUIET_S)
    later, earlier = Path("/inbox/a.csv"), Path("/inbox/b.csv")
    tracker.observe(earlier, 1, 1, now=0.0)
    tracker.observe(later, 1, 1, now=1.0)
    tracker.observe(later, 1, 1, now=10.0)
    tracker.observe(earlier, 1, 1, now=10.0)
    assert tracker.ready(now=10.0) == [earlier, later]


def test_a_vanished_file_is_forgotten_unless_an_event_came_after_the_stat() -> None:
    """A failed stat drops the path, but not when an event (the file re-created) is newer than that stat."""
    tracker = ReadinessTracker(QUIET_S)
    gone, recreated = Path("/inbox/gone.csv"), Path("/inbox/recreated.csv")
    tracker.observe(gone, 1, 1, now=0.0)
    tracker.observe(recreated, 1, 1, now=0.0)
    tracker.touch(recreated, now=2.0)
    tracker.vanished(gone, now=1.0)
    tracker.vanished(recreated, now=1.0)
    assert tracker.pending() == [recreated]


def test_a_closed_file_is_ready_after_the_settle_time() -> None:
    """Created and closed once by its writer: half a second, not the quiet period."""
    tracker = ReadinessTracker(QUIET_S, settle_s=0.5)
    path = Path("/inbox/payout.csv")
    tracker.touch(path, now=0.0, settled=True)  # created
    tracker.observe(path, 40, 1, now=0.0)
    tracker.touch(path, now=0.0, settled=True, closed=True)
    tracker.observe(path, 40, 1, now=0.5)
    assert tracker.ready(now=0.5) == [path]


def test_a_file_closed_and_written_again_waits_the_quiet_period_for_good() -> None:
    """`echo header > f; echo row >> f; sleep 1; ...`: after a reopen a close no longer says "whole"."""
    tracker = ReadinessTracker(QUIET_S, settle_s=0.5)
    path = Path("/inbox/charges.csv")
    tracker.touch(path, now=0.0, settled=True)  # created
    tracker.observe(path, 10, 1, now=0.0)
    tracker.touch(path, now=0.0, settled=True, closed=True)  # the header written and closed
    tracker.touch(path, now=0.1)  # reopened: a row appended
    tracker.observe(path, 20, 2, now=0.1)
    tracker.touch(path, now=0.1, settled=True, closed=True)  # closed again, the writer pauses
    tracker.observe(path, 20, 2, now=4.9)
    assert tracker.ready(now=4.9) == []  # long past the settle time, short of quiet_s after the last write
    tracker.observe(path, 20, 2, now=5.1)
    assert tracker.ready(now=5.1) == [path]


def test_claim_moves_the_file_into_the_work_folder(tmp_path: Path) -> None:
    """A claim renames the file into work/, creating the folder."""
    source = tmp_path / "inbox" / "charges.csv"
    source.parent.mkdir()
    source.write_bytes(b"data")
    claimed = claim(source, tmp_path / "work" / "charges")
    assert claimed == tmp_path / "work" / "charges" / "charges.csv"
    assert claimed.read_bytes() == b"data"
    assert not source.exists()


def test_claim_of_a_vanished_file_returns_none(tmp_path: Path) -> None:
    """A file taken back by the operator is not an error."""
    assert claim(tmp_path / "gone.csv", tmp_path / "work") is None


def test_claim_keeps_a_file_already_in_the_work_folder(tmp_path: Path) -> None:
    """A leftover with the same name in work/ is not overwritten; the new one gets a suffix."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "charges.csv").write_bytes(b"old")
    source = tmp_path / "charges.csv"
    source.write_bytes(b"new")
    claimed = claim(source, work)
    assert claimed == work / "charges (2).csv"
    assert (work / "charges.csv").read_bytes() == b"old"


def test_two_concurrent_claims_of_one_file_have_exactly_one_winner(tmp_path: Path) -> None:
    """Racing claimers (threads released together) never both get the file."""
    work = tmp_path / "work"
    with ThreadPoolExecutor(max_workers=2) as pool:
        for round_number in range(50):
            source = tmp_path / f"charges-{round_number}.csv"
            source.write_bytes(b"data")
            barrier = threading.Barrier(2)
            racers = [pool.submit(_claim_after, barrier, source, work) for _ in range(2)]
            winners = [claimed for racer in racers if (claimed := racer.result()) is not None]
            assert len(winners) == 1
            assert winners[0].read_bytes() == b"data"
    assert len(list(work.iterdir())) == 50


def _claim_after(barrier: threading.Barrier, source: Path, work: Path) -> Path | None:
    barrier.wait()
    return claim(source, work)


def test_finish_never_overwrites(tmp_path: Path) -> None:
    """Archiving a name that is already there keeps both files, numbering the newcomer."""
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "charges.csv").write_bytes(b"first")
    (archive / "charges (2).csv").write_bytes(b"second")
    claimed = tmp_path / "charges.csv"
    claimed.write_bytes(b"third")
    assert finish(claimed, archive) == archive / "charges (3).csv"
    names = ("charges.csv", "charges (2).csv", "charges (3).csv")
    assert [(archive / name).read_bytes() for name in names] == [b"first", b"second", b"third"]


def test_finish_under_another_name_never_overwrites_either(tmp_path: Path) -> None:
    """A quarantine target chosen beforehand (to name its report) is still numbered on a clash."""
    quarantine = tmp_path / "quarantine"
    quarantine.mkdir()
    (quarantine / "bad.csv").write_bytes(b"earlier")
    claimed = tmp_path / "work-name.csv"
    claimed.write_bytes(b"now")
    assert free_path(quarantine, "bad.csv") == quarantine / "bad (2).csv"
    assert finish(claimed, quarantine, name="bad.csv") == quarantine / "bad (2).csv"
    assert (quarantine / "bad.csv").read_bytes() == b"earlier"


def test_a_numbered_name_is_cut_to_fit_the_filesystem(tmp_path: Path) -> None:
    """A clash on a name at the filesystem's limit: the stem is shortened, " (2)" and the extension kept."""
    name = "ж" * 125 + ".csv"  # 254 bytes
    (tmp_path / name).write_bytes(b"first")
    numbered = free_path(tmp_path, name)
    assert numbered.name.endswith(" (2).csv") and numbered.name.startswith("ж" * 100)
    assert len(os.fsencode(numbered.name)) <= FS_NAME_BYTES
    numbered.write_bytes(b"second")  # the filesystem takes it


def test_finish_creates_the_destination_folder(tmp_path: Path) -> None:
    """Quarantine folders are created on first use."""
    claimed = tmp_path / "bad.csv"
    claimed.write_bytes(b"x")
    quarantine = tmp_path / "quarantine" / "charges"
    assert finish(claimed, quarantine) == quarantine / "bad.csv"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..", "_"),
        (".", "_"),
        ("", "_"),
        ("a\x00b", "a_b"),
        ("C:\\Windows\\system32", "C__Windows_system32"),
        ("Счет 2611-00001 от 01.11.2026.pdf", "Счет 2611-00001 от 01.11.2026.pdf"),
        ("  ООО «Ромашка»  ", "ООО «Ромашка»"),
        ("tab\tand\nnewline", "tab_and_newline"),
        ("6670000014", "6670000014"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("report.", "report"),
        ("a\u00a0\u00a0b", "a b"),
    ],
)
def test_safe_name_examples(text: str, expected: str) -> None:
    """Traversal, separators, NUL and Windows-reserved names are neutralised; Cyrillic and spaces stay."""
    assert safe_name(text) == expected


@pytest.mark.parametrize(
    "text", ["../../etc/passwd", "..", "a/b\x00c", "Акт " * 100 + ".pdf", "x" * 300, "CON.txt", " .hidden. "]
)
def test_safe_name_is_one_component_inside_its_folder_and_idempotent(text: str, tmp_path: Path) -> None:
    """Whatever the text, the result is one short component that stays in the folder it is joined to."""
    name = safe_name(text)
    assert Path(name).name == name
    assert not name.startswith(".")
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert inside(tmp_path, tmp_path / name)
    assert safe_name(name) == name


def test_safe_name_keeps_the_extension_when_it_truncates() -> None:
    """A long Cyrillic name is cut inside the stem, never inside a character, and keeps ".pdf"."""
    name = safe_name("Ж" * 300 + ".pdf")
    assert name.endswith(".pdf")
    assert set(name.removesuffix(".pdf")) == {"Ж"}


def test_inside_rejects_traversal(tmp_path: Path) -> None:
    """A path climbing out with ".." is outside; one below the root is inside."""
    assert not inside(tmp_path / "ws", tmp_path / "ws" / ".." / ".." / "etc" / "passwd")
    assert inside(tmp_path / "ws", tmp_path / "ws" / "documents" / "6670000014" / "a.pdf")


def test_inside_sees_through_symlinks(tmp_path: Path) -> None:
    """A symlink inside the workspace that points elsewhere does not make its target inside."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "escape").symlink_to(tmp_path)
    assert not inside(workspace, workspace / "escape" / "secret.txt")


def test_take_reads_a_regular_file(tmp_path: Path) -> None:
    """A file of its own within the limit: its bytes and their sha256."""
    path = tmp_path / "charges.csv"
    path.write_bytes(b"a;b\n1;2\n")
    assert take(path, 100) == Taken(b"a;b\n1;2\n", hashlib.sha256(b"a;b\n1;2\n").hexdigest())


def test_take_never_follows_a_symlink(tmp_path: Path) -> None:
    """A link is refused as a link, naming its target; the target is not read."""
    secret = tmp_path / "secret.csv"
    secret.write_bytes(b"outside")
    (tmp_path / "link.csv").symlink_to(secret)
    taken = take(tmp_path / "link.csv", 100)
    assert isinstance(taken, Unfit)
    assert taken.reason.startswith(f"символическая ссылка на «{secret}»")
    assert taken.key != hashlib.sha256(b"outside").hexdigest()


def test_take_does_not_block_on_a_fifo(tmp_path: Path) -> None:
    """A FIFO without a writer would block a plain open forever: it is refused by what it is."""
    fifo = tmp_path / "charges.csv"
    os.mkfifo(fifo)
    taken = take(fifo, 100)
    assert isinstance(taken, Unfit) and taken.reason.startswith("именованный канал (FIFO)")


def test_take_refuses_devices_folders_and_sockets(tmp_path: Path) -> None:
    """/dev/zero is never read (it has no end); a folder or a socket is not a file either."""
    (tmp_path / "folder").mkdir()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock"))
        reasons = [take(path, 100) for path in (Path("/dev/zero"), tmp_path / "folder", tmp_path / "sock")]
    assert [r.reason.split(",")[0] if isinstance(r, Unfit) else r for r in reasons] == [
        "файл устройства", "папка", "сокет"
    ]


def test_take_refuses_a_hard_link_unless_told_otherwise(tmp_path: Path) -> None:
    """A second name of a file outside: refused for the inbox, read for `check` (sole_name=False)."""
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"a;b\n")
    os.link(outside, tmp_path / "linked.csv")
    refused = take(tmp_path / "linked.csv", 100)
    assert isinstance(refused, Unfit) and "жёстких ссылок: 2" in refused.reason
    assert take(tmp_path / "linked.csv", 100, sole_name=False) == take(outside, 100, sole_name=False)


def test_take_refuses_a_file_over_the_limit_with_the_hash_of_all_of_it(tmp_path: Path) -> None:
    """Too big: refused with its size and the limit in MB; the key is the sha256 of the whole content."""
    path = tmp_path / "big.csv"
    data = b"x" * (3 * 2**20)
    path.write_bytes(data)
    taken = take(path, 2**20)
    assert taken == Unfit(
        "файл 3 МБ больше предела 1 МБ ([limits] max_file_megabytes в схеме источника): разделите выгрузку "
        "на части",
        hashlib.sha256(data).hexdigest(),
    )


def test_take_raises_for_a_missing_file(tmp_path: Path) -> None:
    """A vanished file is a failure of the machine, not a property of the input."""
    with pytest.raises(FileNotFoundError):
        take(tmp_path / "gone.csv", 100)
