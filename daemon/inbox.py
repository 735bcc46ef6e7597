"""Inbox files: junk filter, readiness, claim into work/, moves to archive/quarantine, safe names (shell)."""
from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, replace
from io import BufferedReader
from itertools import count
from pathlib import Path

from daemon.core.report import display_name

# Office lock files, OS/NAS metadata and partial downloads; matched case-insensitively.
JUNK_NAMES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", "@eadir", "#recycle", "$recycle.bin"})
JUNK_PREFIXES = (".", "~$")  # dot-files cover .DS_Store, ._* (AppleDouble), .~lock.*# (LibreOffice)
JUNK_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", "~")

# Files land on SMB shares: keep names that Windows can open, too.
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f/\\<>:"|?*]')
_WINDOWS_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)
# Bytes, not characters: Cyrillic takes two bytes in UTF-8 and ext4/NTFS limits are ~255 bytes.
# Leave room for a collision suffix " (12)" and the ".<name>.<pid>.tmp" of atomic writes.
MAX_NAME_BYTES = 200
# What the filesystem takes (ext4, XFS, NTFS via SMB): an inbox file's own name may be this long.
FS_NAME_BYTES = 255

# Errors of a claim that mean "try again later": an SMB writer still holds the file.
_BUSY_ERRNOS = frozenset({errno.EBUSY, errno.EACCES, errno.EPERM, errno.ETXTBSY})


def is_junk(name: str) -> bool:
    """Whether a file name is office/OS/NAS junk or a partial download that must never be processed."""
    folded = name.strip().casefold()
    return (
        not folded
        or folded in JUNK_NAMES
        or folded.startswith(JUNK_PREFIXES)
        or folded.endswith(JUNK_SUFFIXES)
    )


@dataclass(frozen=True)
class _Track:
    signature: tuple[int, int] | None  # (size, mtime_ns) of the latest stat; None: only events so far
    first_seen: float                   # when the file was first noticed; orders delivery
    quiet_since: float                  # the latest change: an event, or a new size/mtime
    last_observed: float | None         # the latest stat that saw `signature`
    settled: bool = False               # the last event said the content is complete: closed, or renamed in
    closed: bool = False                # its writer closed it at least once
    reopened: bool = False              # written again after a close: an appending writer, not a whole file


class ReadinessTracker:
    """Decides when a file has stopped changing; not thread-safe, the caller holds a lock.

    A file is ready when nothing changed for `quiet_s` (no event, same size and mtime) and two stats
    at least `quiet_s` apart saw the same size and mtime. When the last event said the content is
    complete — the writer closed it (inotify's IN_CLOSE_WRITE: local writers and Samba) or it was
    renamed into the folder whole — `settle_s` is enough for a non-empty file: a one-row payout is
    processed within a second, while a file still being written (a "modified" event last) and polled
    network shares keep the full quiet period. A file written again after it was closed (`echo >>` row
    by row, an FTP resume) may be reopened after any close, so it keeps the full quiet period for good:
    a writer that pauses for less than `quiet_s` between its writes never has its file taken.
    Times come from the caller's clock.
    """

    def __init__(self, quiet_s: float, settle_s: float = 0.5) -> None:
        self.quiet_s = quiet_s
        self.settle_s = min(settle_s, quiet_s)
        self._tracks: dict[Path, _Track] = {}

    def touch(self, path: Path, now: float, *, settled: bool = False, closed: bool = False) -> None:
        """Record an event for `path`: it may have changed, so its quiet period starts again.

        `settled`: the event says the content is complete (`closed`: its writer closed it).
        """
        track = self._tracks.get(path)
        if track is None:
            self._tracks[path] = _Track(
                None, first_seen=now, quiet_since=now, last_observed=None, settled=settled, closed=closed
            )
        else:
            self._tracks[path] = replace(
                track, quiet_since=max(track.quiet_since, now), settled=settled,
                closed=track.closed or closed, reopened=track.reopened or (track.closed and not settled),
            )

    def observe(self, path: Path, size: int, mtime_ns: int, now: float) -> None:
        """Record a stat of `path` taken at `now`; a new size or mtime restarts the quiet period."""
        track = self._tracks.get(path)
        signature = (size, mtime_ns)
        if track is None:
            self._tracks[path] = _Track(signature, first_seen=now, quiet_since=now, last_observed=now)
        elif track.signature != signature:
            # max(): an event may have arrived after this stat was taken, and it still counts
            self._tracks[path] = replace(
                track, signature=signature, quiet_since=max(track.quiet_since, now), last_observed=now
            )
        else:
            self._tracks[path] = replace(track, last_observed=max(track.last_observed or now, now))

    def forget(self, path: Path) -> None:
        """Stop tracking `path` (it was delivered)."""
        self._tracks.pop(path, None)

    def vanished(self, path: Path, now: float) -> None:
        """A stat taken at `now` found no regular file: forget it, unless an event came after that stat."""
        track = self._tracks.get(path)
        if track is not None and track.quiet_since <= now:
            del self._tracks[path]

    def pending(self) -> list[Path]:
        """Every tracked path: the caller stats these and reports back with `observe`."""
        return list(self._tracks)

    def _quiet_for(self, track: _Track) -> float:
        complete = (track.settled and not track.reopened
                    and track.signature is not None and track.signature[0] > 0)
        return self.settle_s if complete else self.quiet_s

    def ready(self, now: float) -> list[Path]:
        """Paths quiet for `quiet_s` and confirmed by a stat `quiet_s` after the last change, oldest first."""
        ready = [
            (track.first_seen, str(path), path)
            for path, track in self._tracks.items()
            if track.signature is not None
            and track.last_observed is not None
            # the stat that set `signature` is at or before quiet_since, so two equal stats
            # at least quiet_s apart bracket the quiet period
            and track.last_observed - track.quiet_since >= (quiet := self._quiet_for(track))
            and now - track.quiet_since >= quiet
        ]
        return [path for _, _, path in sorted(ready)]


def claim(path: Path, work_dir: Path) -> Path | None:
    """Move an inbox file into `work_dir` by an atomic rename; None if it vanished or is busy (retry later).

    `work_dir` must be on the same filesystem as the inbox: a rename across filesystems fails
    (EXDEV), and that configuration error is raised, not hidden.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    target = free_path(work_dir, path.name)
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None  # another claimer won, or the operator took the file back
    except OSError as error:
        if error.errno in _BUSY_ERRNOS:
            return None
        raise
    return target


def finish(path: Path, dest_dir: Path, *, name: str | None = None) -> Path:
    """Move a claimed file into an archive or quarantine folder (as `name` if given), never overwriting.

    A clash gets the smallest free " (n)" suffix, as Windows Explorer does.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = free_path(dest_dir, name or path.name)
    os.rename(path, target)
    return target


def free_path(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/stem (n).ext` with the smallest free n ≥ 2.

    Check-then-rename leaves a window between the check and the rename; billdrop has one worker per
    workspace, so nothing else writes into work/, archive/ or quarantine/ in that window.
    """
    candidate = folder / name
    if not os.path.lexists(candidate):
        return candidate
    stem, suffix = _split_suffix(name)
    numbered = (folder / _numbered(stem, number, suffix) for number in count(2))
    return next(path for path in numbered if not os.path.lexists(path))


def _numbered(stem: str, number: int, suffix: str) -> str:
    """`stem (number)suffix`, the stem cut (by whole characters) so the name fits the filesystem."""
    tail = f" ({number}){suffix}"
    while len(os.fsencode(stem + tail)) > FS_NAME_BYTES:
        stem = stem[:-1]
    return stem + tail


def _split_suffix(name: str) -> tuple[str, str]:
    """("charges", ".csv") for "charges.csv"; a leading dot is part of the stem."""
    dot = name.rfind(".")
    return (name[:dot], name[dot:]) if dot > 0 else (name, "")


def safe_name(text: str) -> str:
    """Make any text one safe path component; idempotent.

    No separators, NUL, control or Windows-reserved characters, no leading dot (so never "." or ".."),
    at most MAX_NAME_BYTES of UTF-8. Cyrillic and inner spaces stay: operators read these names.
    """
    name = unicodedata.normalize("NFC", text)
    name = _UNSAFE_CHARS.sub("_", name)
    name = " ".join(name.split())  # tabs/newlines are already "_"; this folds runs of spaces and NBSP
    # Windows drops trailing dots and spaces, and a leading dot hides the file (or climbs up: "..")
    name = name.lstrip(". ").rstrip(". ")
    if _WINDOWS_RESERVED.fullmatch(name):
        name = f"_{name}"
    name = _truncate(name)
    return name or "_"


def _truncate(name: str) -> str:
    """Cut to MAX_NAME_BYTES of UTF-8 without splitting a character, keeping a short extension."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, suffix = _split_suffix(name)
    if len(suffix.encode()) > 16:
        stem, suffix = name, ""
    budget = MAX_NAME_BYTES - len(suffix.encode())
    stem = stem.encode()[:budget].decode(errors="ignore").rstrip(". ")
    return f"{stem}{suffix}"


def inside(root: Path, path: Path) -> bool:
    """Whether `path` is `root` or lies below it once `..` and symlinks are resolved."""
    return path.resolve().is_relative_to(root.resolve())


@dataclass(frozen=True)
class Taken:
    """The bytes of a regular file read through one descriptor, and their sha256."""

    data: bytes
    sha256: str


@dataclass(frozen=True)
class Unfit:
    """An entry billdrop does not read, and why (for the operator, in Russian).

    `key` stands for the entry in the store: the sha256 of its content when it was hashed (too big),
    else of what identifies the entry itself (kind, device, inode, mtime, size, name).
    """

    reason: str
    key: str


_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_NOT_A_FILE = (
    (stat.S_ISDIR, "папка, а не файл: вложенные папки не читаются — положите файлы прямо в папку источника"),
    (stat.S_ISFIFO, "именованный канал (FIFO), а не файл: читаются только обычные файлы"),
    (stat.S_ISSOCK, "сокет, а не файл: читаются только обычные файлы"),
    (stat.S_ISCHR, "файл устройства, а не обычный файл: читаются только обычные файлы"),
    (stat.S_ISBLK, "файл устройства, а не обычный файл: читаются только обычные файлы"),
)


def take(path: Path, max_bytes: int, *, sole_name: bool = True) -> Taken | Unfit:
    """Read `path` if it is a regular file of at most `max_bytes` (and, with `sole_name`, of one name).

    The entry is judged by lstat before it is opened, so a device or a FIFO is never opened, and by
    fstat of the descriptor it is read through: opened with O_NOFOLLOW, a symlink is never followed,
    even one swapped in after the lstat, and O_NONBLOCK keeps a FIFO swapped in from blocking. A hard
    link (`sole_name`) is refused: the archive must keep an original nobody can change from elsewhere.
    A missing file and other failures of the machine are raised.
    """
    entry = os.lstat(path)
    if not stat.S_ISREG(entry.st_mode):
        return Unfit(_kind_reason(path, entry), _entry_key(path, entry))
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.EACCES, errno.EPERM):
            raise
        if error.errno == errno.ELOOP:  # replaced by a symlink since the lstat
            return Unfit(_kind_reason(path, os.lstat(path)), _entry_key(path, entry))
        reason = (f"нет права на чтение файла (владелец uid {entry.st_uid}, права "
                  f"{stat.filemode(entry.st_mode)}): дайте службе billdrop право его читать и верните файл "
                  "командой billdrop retry")
        return Unfit(reason, _entry_key(path, entry))
    with open(fd, "rb") as handle:
        return _read(handle, path, max_bytes, sole_name)


def _read(handle: BufferedReader, path: Path, max_bytes: int, sole_name: bool) -> Taken | Unfit:
    opened = os.fstat(handle.fileno())
    if not stat.S_ISREG(opened.st_mode):
        return Unfit(_kind_reason(path, opened), _entry_key(path, opened))
    if sole_name and opened.st_nlink > 1:
        reason = (f"у файла есть и другие имена (жёстких ссылок: {opened.st_nlink}), его можно изменить "
                  "в обход billdrop, а архив хранит неизменный оригинал: положите в папку копию файла")
        return Unfit(reason, _entry_key(path, opened))
    if opened.st_size <= max_bytes:
        data = handle.read(max_bytes + 1)
        if len(data) <= max_bytes:
            return Taken(data, hashlib.sha256(data).hexdigest())
        handle.seek(0)  # it grew while being read
    # refused unread: a huge export must not take the memory
    digest = hashlib.file_digest(handle, "sha256").hexdigest()
    size = max(opened.st_size, handle.tell())
    reason = (f"файл {size / 2**20:.0f} МБ больше предела {max_bytes // 2**20} МБ ([limits] "
              "max_file_megabytes в схеме источника): разделите выгрузку на части")
    return Unfit(reason, digest)


def _kind_reason(path: Path, entry: os.stat_result) -> str:
    if stat.S_ISLNK(entry.st_mode):
        try:
            target = display_name(os.readlink(path))
        except OSError:
            target = "?"
        return (f"символическая ссылка на «{target}», а не файл: ссылки не открываются, чтобы не читать "
                "файлы вне рабочей папки — положите в папку сам файл")
    return next((reason for is_kind, reason in _NOT_A_FILE if is_kind(entry.st_mode)),
                "не обычный файл: читаются только обычные файлы")


def _entry_key(path: Path, entry: os.stat_result) -> str:
    identity = (stat.S_IFMT(entry.st_mode), entry.st_dev, entry.st_ino, entry.st_mtime_ns, entry.st_size)
    return hashlib.sha256(f"{identity}:".encode() + os.fsencode(path.name)).hexdigest()
