"""Watches inbox folders (watchdog, startup scan, periodic rescan); queues files once they are ready (shell).

```
watchdog events ──touch──▶ ReadinessTracker ◀──observe── poller thread: stat pending paths
startup scan + rescan ──observe──┘                         │ ready, not in flight
                                                           ▼
                                   queue ──get()──▶ worker ──done(path)──▶ in-flight set released
```
Events only say "look at this path again"; every decision is taken by the poller thread from stats,
so lost events (inotify overflow, network shares, an observer that died) cost latency, never files.
Every entry is delivered once quiet, not only regular files: the runner refuses symlinks, FIFOs,
folders and hard links by what the claimed entry is, so they go to quarantine instead of staying unseen.
"""
from __future__ import annotations

import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from daemon.core.report import display_name
from daemon.inbox import ReadinessTracker, is_junk

log = structlog.get_logger()

# Event types that may mean new or changed content; deletions are found by the poller's stat.
_CONTENT_EVENTS = frozenset({"created", "modified", "moved", "closed"})
# ...and those after which the content is complete unless a "modified" follows: closed by its writer,
# or renamed into the folder (a rename from outside the watched folder is reported as "created").
_SETTLED_EVENTS = frozenset({"created", "moved", "closed"})


@dataclass(frozen=True)
class WatchedFolder:
    """An inbox folder; `polling` for SMB/NFS shares, where inotify sees no writes made by other hosts."""

    path: Path
    polling: bool = False
    polling_interval_s: float = 2.0


@dataclass(frozen=True)
class ReadyFile:
    """A file that stopped changing: `source` is the inbox's name, `path` is still in the inbox."""

    source: str
    path: Path


class _EventHandler(FileSystemEventHandler):
    """Turns watchdog events of one flat folder's entries into tracker touches; never raises."""

    def __init__(self, folder: Path, touch: Callable[[Path, str], None]) -> None:
        self._folder = folder
        self._touch = touch

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            if event.event_type not in _CONTENT_EVENTS:
                return
            # a rename inside the folder reports the new name as dest_path
            raw = event.dest_path if event.event_type == "moved" else event.src_path
            path = Path(os.fsdecode(raw))
            # the folder's own events have another parent; a subfolder's entry is refused when claimed
            if path.parent == self._folder and not is_junk(path.name):
                self._touch(path, event.event_type)
        except Exception:  # an exception here kills watchdog's dispatcher thread (watchdog#793)
            log.exception("watcher.event_failed", event=repr(event))


class _Supervised:
    """One folder's observer and what is needed to tell whether it still works."""

    def __init__(self, source: str, folder: WatchedFolder) -> None:
        self.source = source
        self.folder = folder
        self.observer: BaseObserver | None = None
        self.identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the folder being watched
        self.started_once = False
        self.problem: str | None = None               # the last problem logged, so each is logged once
        self.retry_at = 0.0


class InboxWatcher:
    """Delivers each ready inbox file once through `get()` until the worker calls `done()` for it."""

    def __init__(
        self,
        folders: Mapping[str, WatchedFolder],
        *,
        quiet_s: float = 5.0,
        rescan_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # absolute paths: watchdog reports events as the watched path joined with the file name
        self._folders = {
            source: _Supervised(source, replace(folder, path=Path(os.path.abspath(folder.path))))
            for source, folder in folders.items()
        }
        self._source_of = {sup.folder.path: source for source, sup in self._folders.items()}
        self._quiet_s = quiet_s
        self._rescan_s = rescan_s
        self._clock = clock
        self._lock = threading.Lock()
        self._tracker = ReadinessTracker(quiet_s)
        # Readiness is noticed within half the settle time; at least once a second, at most 20 times.
        self._tick_s = max(0.05, min(self._tracker.settle_s / 2, 1.0))
        self._in_flight: set[Path] = set()
        self._stuck: set[Path] = set()  # delivered, yet still in the inbox at done(): the claim failed
        self._ready: queue.Queue[ReadyFile] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_rescan = 0.0

    # public API ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the observers, scan every folder, then poll for ready files in a background thread."""
        for sup in self._folders.values():
            self._supervise(sup, scan=False)
        # after the observers: a file created between the two is seen by at least one of them
        self._rescan(startup=True)
        self._thread = threading.Thread(target=self._run, name="billdrop-watcher", daemon=True)
        self._thread.start()
        log.info(
            "watcher.started",
            folders={source: str(sup.folder.path) for source, sup in self._folders.items()},
            quiet_s=self._quiet_s,
            rescan_s=self._rescan_s,
        )

    def stop(self) -> None:
        """Stop polling and every observer; files already queued stay queued."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for sup in self._folders.values():
            self._stop_observer(sup)
        log.info("watcher.stopped")

    def get(self, timeout: float) -> ReadyFile | None:
        """The next ready file, or None after `timeout` seconds."""
        try:
            return self._ready.get(timeout=timeout)
        except queue.Empty:
            return None

    def get_batch(self, timeout: float) -> list[ReadyFile]:
        """The next ready file (None within `timeout`: []) and every file that becomes ready with it.

        Files dropped together may settle a tick apart: while others are still settling, wait for
        them (a settle period and two ticks at most) so that the worker can order them as one batch.
        """
        first = self.get(timeout)
        if first is None:
            return []
        batch = [first]
        deadline = time.monotonic() + self._tracker.settle_s + 2 * self._tick_s
        while True:
            with self._lock:  # the poller queues what is ready under this lock: all of it is queued now
                settling = bool(self._tracker.pending())
            while (more := self.get(timeout=0)) is not None:
                batch.append(more)
            if not settling or time.monotonic() >= deadline:
                return batch
            self._stop.wait(self._tick_s)

    def done(self, path: Path) -> None:
        """Release a delivered file; one still in the inbox (a busy claim) is delivered again when ready."""
        path = Path(os.path.abspath(path))
        with self._lock:
            self._in_flight.discard(path)
            if path.parent not in self._source_of or not os.path.lexists(path):
                self._stuck.discard(path)
                return
            # also covers a new file dropped under the same name while this one was in flight:
            # its events were ignored then
            self._tracker.touch(path, self._clock())
            if path not in self._stuck:
                # once per file: a claim denied for good (permissions) would otherwise be silent
                self._stuck.add(path)
                log.warning("file.still_in_inbox", source=self._source_of[path.parent],
                            file=display_name(path.name))

    # the poller thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self._tick_s):
            try:
                self._tick()
            except Exception:  # the thread must outlive any surprise; the next tick retries
                log.exception("watcher.tick_failed")

    def _tick(self) -> None:
        for sup in self._folders.values():
            self._supervise(sup)
        if self._clock() >= self._next_rescan:
            self._rescan(startup=False)
        self._poll()

    def _poll(self) -> None:
        """Stat every tracked path, feed the tracker, and queue what became ready."""
        with self._lock:
            pending = self._tracker.pending()  # never in flight: touch() and observe() skip those
        now = self._clock()  # taken before the stats: an event arriving meanwhile is newer than them
        stats = [(path, _stat(path)) for path in pending]
        with self._lock:
            for path, result in stats:
                if result is None:
                    self._tracker.vanished(path, now)
                else:
                    self._tracker.observe(path, result.st_size, result.st_mtime_ns, now)
            written = {path: result.st_mtime_ns for path, result in stats if result is not None}
            # ready together (a startup scan, a rescan): in the order they were written, then by name
            for path in sorted(self._tracker.ready(now), key=lambda p: (written.get(p, 0), p.name)):
                self._tracker.forget(path)
                self._in_flight.add(path)
                source = self._source_of[path.parent]
                self._ready.put(ReadyFile(source, path))
                log.info("file.ready", source=source, file=display_name(path.name))

    def _touch(self, path: Path, event_type: str) -> None:
        with self._lock:
            if path not in self._in_flight:
                self._tracker.touch(
                    path, self._clock(), settled=event_type in _SETTLED_EVENTS, closed=event_type == "closed"
                )

    def _rescan(self, *, startup: bool) -> None:
        """List every folder and observe each file: catches whatever the events missed."""
        now = self._clock()
        self._next_rescan = now + self._rescan_s
        files = [item for sup in self._folders.values() for item in _list_files(sup.folder.path)]
        untracked = self._observe_listed(files, now)
        # routine rescans log at debug; files that no event had announced are a sign of lost events
        emit = log.info if startup or untracked else log.debug
        emit("watcher.rescan", startup=startup, files=len(files), untracked=untracked)

    def _observe_listed(self, files: list[tuple[Path, os.stat_result]], now: float) -> int:
        """Feed listed files to the tracker; returns how many it did not know yet."""
        untracked = 0
        with self._lock:
            known = set(self._tracker.pending())
            for path, result in files:
                if path in self._in_flight:
                    continue
                untracked += path not in known
                self._tracker.observe(path, result.st_size, result.st_mtime_ns, now)
        return untracked

    # observer supervision --------------------------------------------------------------------
    def _supervise(self, sup: _Supervised, *, scan: bool = True) -> None:
        """Start a folder's observer, or start it anew if it died or its folder vanished or was replaced.

        With `scan`, a started observer is followed by a listing of its folder.
        """
        identity = _folder_identity(sup.folder.path)
        if sup.observer is not None:
            problem = _observer_problem(sup.observer, sup.folder, sup.identity, identity)
            if problem is None:
                return
            log.warning("watcher.observer_lost", source=sup.source, path=str(sup.folder.path), reason=problem)
            self._stop_observer(sup)
            sup.problem = problem
            sup.retry_at = 0.0
        if identity is None:
            self._report(sup, "folder_missing", "watcher.folder_missing")
            return
        now = self._clock()
        if now < sup.retry_at:
            return
        try:
            sup.observer = self._start_observer(sup)
        except FileNotFoundError:  # gone again since the stat above
            self._report(sup, "folder_missing", "watcher.folder_missing")
            return
        except OSError as error:  # e.g. the inotify watch limit: retry at the pace of rescans
            sup.retry_at = now + self._rescan_s
            self._report(sup, f"start_failed: {error}", "watcher.observer_failed", error=str(error))
            return
        sup.identity = identity
        sup.problem = None
        event = "watcher.observer_restarted" if sup.started_once else "watcher.observer_started"
        sup.started_once = True
        log.info(event, source=sup.source, path=str(sup.folder.path), polling=sup.folder.polling)
        if scan:
            # a folder that appears (mounted, moved back in) with files in it yields no per-file
            # events (paperless-ngx#5881); listing after the observer started leaves no gap
            self._observe_listed(_list_files(sup.folder.path), now)

    def _start_observer(self, sup: _Supervised) -> BaseObserver:
        observer: BaseObserver = (
            PollingObserver(timeout=sup.folder.polling_interval_s) if sup.folder.polling else Observer()
        )
        observer.schedule(_EventHandler(sup.folder.path, self._touch), str(sup.folder.path), recursive=False)
        observer.daemon = True
        observer.start()
        return observer

    def _stop_observer(self, sup: _Supervised) -> None:
        observer, sup.observer = sup.observer, None
        if observer is None:
            return
        observer.stop()
        # an observer stuck on a dead share must not hang shutdown; its threads are daemons
        observer.join(timeout=5.0)

    @staticmethod
    def _report(sup: _Supervised, problem: str, event: str, **fields: object) -> None:
        if sup.problem != problem:
            sup.problem = problem
            log.warning(event, source=sup.source, path=str(sup.folder.path), **fields)


def _observer_problem(
    observer: BaseObserver,
    folder: WatchedFolder,
    watched: tuple[int, int] | None,
    identity: tuple[int, int] | None,
) -> str | None:
    """Why a folder's observer no longer delivers events, or None while it works."""
    if identity is None:
        return "folder_missing"
    # an emitter stops itself when its folder is deleted or a poll fails (watchdog#1065)
    if not observer.is_alive() or not all(emitter.is_alive() for emitter in observer.emitters):
        return "observer_died"
    # inotify watches an inode: a folder deleted and recreated between two ticks is a new one.
    # Polling lists by path, and SMB/NFS inode numbers may not be stable, so skip the check there.
    if not folder.polling and identity != watched:
        return "folder_replaced"
    return None


def _folder_identity(path: Path) -> tuple[int, int] | None:
    try:
        result = os.stat(path)
    except OSError:
        return None
    return (result.st_dev, result.st_ino) if stat.S_ISDIR(result.st_mode) else None


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path, follow_symlinks=False)
    except OSError:
        return None


def _list_files(folder: Path) -> list[tuple[Path, os.stat_result]]:
    """Non-junk entries directly in `folder`, of any kind; none if it cannot be listed (share gone)."""
    try:
        with os.scandir(folder) as entries:
            candidates = [Path(entry.path) for entry in entries if not is_junk(entry.name)]
    except OSError:
        return []
    stats = ((path, _stat(path)) for path in candidates)
    return [(path, result) for path, result in stats if result is not None]
