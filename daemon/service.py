"""The long-running service and the one-shot run: intake, processing, mail, systemd notify (shell)."""
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import TypeVar

import structlog

from daemon import inbox
from daemon.backup import daily_backup
from daemon.config import Settings, smtp_password
from daemon.context import Context, build_context, local_now
from daemon.core.rows import Checked
from daemon.dunning import queue_reminders
from daemon.mail_queue import flush_mail
from daemon.mailer import EmlFolderTransport, SmtpTransport, Transport
from daemon.runner import (
    Failed,
    FileOutcome,
    Quarantined,
    Stuck,
    Waiting,
    process_file,
    schema_of,
    take_input,
)
from daemon.sources import KINDS
from daemon.watcher import InboxWatcher, ReadyFile, WatchedFolder
from daemon.workspace import Workspace

log = structlog.get_logger()
T = TypeVar("T")
REMIND_EVERY_S = 3600.0   # reminders are keyed by invoice and level, so re-running them sends nothing twice
# Files ready together are taken in dependency order: acceptances need their payouts' acts, statements
# the invoices they pay.
KIND_ORDER = {"charges": 0, "payouts": 1, "acceptances": 2, "bank": 3}


def mail_transport(ws: Workspace, settings: Settings) -> Transport:
    smtp = settings.mail.smtp
    if smtp is None:
        return EmlFolderTransport(ws.mail_dir)
    return SmtpTransport(
        smtp.host, smtp.port, smtp.security, smtp.username, smtp_password(), timeout_s=smtp.timeout_seconds
    )


def flush(ctx: Context, transport: Transport) -> dict[str, int]:
    return flush_mail(ctx.store, ctx.workspace.root, ctx.settings.mail, transport, ctx.clock)


def resume_work(ctx: Context, *, retry_now: bool = True) -> list[FileOutcome | None]:
    """Finish files a previous run left in work/ (claimed, maybe committed, not archived); stuck ones
    are left alone. None: a file that failed (logged), the others went on."""
    outcomes = []
    # every entry: a symlink or FIFO claimed before a crash is quarantined, never skipped
    left = (ReadyFile(source, path) for source in ctx.settings.sources
            for path in ctx.workspace.work(source).iterdir())
    for ready in processing_order(ctx, left):
        outcome = _guarded("file.failed",
                           partial(process_file, ready.path, ready.source, ctx, retry_now=retry_now))
        if not isinstance(outcome, Waiting | Stuck):
            log.info("file.resumed", file=ready.path.name, source=ready.source)
        outcomes.append(outcome)
    return outcomes


def process_inboxes(ctx: Context) -> list[FileOutcome | None]:
    """Claim and process every file now in the inboxes, as one batch in processing order."""
    outcomes = resume_work(ctx)
    waiting = (
        ReadyFile(source, path)
        for source in ctx.settings.sources
        for path in ctx.workspace.inbox(source).iterdir()
        if not inbox.is_junk(path.name)  # links, FIFOs, folders too: the runner refuses them by kind
    )
    for ready in processing_order(ctx, waiting):
        claimed = inbox.claim(ready.path, ctx.workspace.work(ready.source))
        if claimed is not None:
            outcomes.append(_guarded("file.failed", partial(process_file, claimed, ready.source, ctx)))
    return outcomes


def processing_order(ctx: Context, files: Iterable[ReadyFile]) -> list[ReadyFile]:
    """By kind (charges, payouts, acceptances, statements), payouts files by their earliest payout date,
    then in the order they were written (mtime, then name)."""
    def key(ready: ReadyFile) -> tuple[int, date, float, str]:
        kind = ctx.settings.sources[ready.source].kind
        earliest = _earliest_payout(ready, ctx) if kind == "payouts" else date.min
        return KIND_ORDER[kind], earliest, _mtime(ready.path), ready.path.name
    return sorted(files, key=key)


def _earliest_payout(ready: ReadyFile, ctx: Context) -> date:
    """The earliest payout date the file's valid rows carry (read as the kind reads it); none: last."""
    try:
        taken = take_input(ready.path, ready.source, ctx.settings, ctx.schemas)
    except OSError:  # gone since it was listed
        return date.max
    if isinstance(taken, inbox.Unfit):  # a link, FIFO or unreadable file is refused, never read here
        return date.max
    schema = schema_of(ready.source, ctx.settings, ctx.schemas)
    checked = KINDS["payouts"].check(taken.data, ready.path.name, schema)
    records = checked.records if isinstance(checked, Checked) else ()
    return min((r.payout_date for r in records), default=date.max)


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:  # gone since it was listed: its claim will find nothing
        return 0.0


def run_once(ws: Workspace, settings: Settings, clock: Callable[[], datetime] = local_now) -> int:
    """`billdrop process`: 0 when every file was accepted, 1 when any was quarantined, failed or stuck now."""
    ctx = build_context(ws, settings, clock)
    ctx.pdf.start()  # workers load WeasyPrint while the first file is read and validated
    try:
        outcomes = process_inboxes(ctx)
        flush(ctx, mail_transport(ws, settings))
    finally:
        ctx.close()
    return 1 if any(o is None or isinstance(o, Quarantined | Failed) or (isinstance(o, Stuck) and o.fresh)
                    for o in outcomes) else 0


def remind_once(ws: Workspace, settings: Settings, clock: Callable[[], datetime] = local_now) -> int:
    """`billdrop remind`: queue today's reminders and digests, then send the mail queue."""
    ctx = build_context(ws, settings, clock)
    try:
        queued = queue_reminders(ctx, ctx.clock().date())
        flush(ctx, mail_transport(ws, settings))
    finally:
        ctx.close()
    return queued


def sd_notify(state: str) -> None:
    """Tell systemd (Type=notify) we are ready or alive; a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(state.encode(), address)


class Heartbeat:
    """The systemd watchdog fed from progress, not from loop iterations: a thread sends WATCHDOG=1 every
    quarter of WatchdogSec as long as the last `beat` (a loop turn, an output written, a mail tried) is
    less than WatchdogSec old. A long file keeps the service alive; a step hung for WatchdogSec stops the
    pings, and systemd restarts the service one WatchdogSec later. No watchdog asked for: no thread."""

    def __init__(self, watchdog_s: float | None) -> None:
        self.watchdog_s = watchdog_s
        self._last = time.monotonic()
        self._stop = threading.Event()

    @classmethod
    def from_environment(cls) -> Heartbeat:
        """WatchdogSec as systemd passes it (WATCHDOG_USEC, for our pid when WATCHDOG_PID is set)."""
        usec, pid = os.environ.get("WATCHDOG_USEC"), os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return cls(None)
        return cls(int(usec) / 1e6)

    def beat(self) -> None:
        self._last = time.monotonic()

    def start(self) -> None:
        if self.watchdog_s:
            threading.Thread(target=self._ping, args=(self.watchdog_s,), name="watchdog", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _ping(self, watchdog_s: float) -> None:
        while not self._stop.wait(watchdog_s / 4):
            if time.monotonic() - self._last < watchdog_s:
                sd_notify("WATCHDOG=1")


class _BeatingTransport:
    """A transport that counts each mail tried as progress: a slow relay is not a hung service."""

    def __init__(self, transport: Transport, beat: Callable[[], None]) -> None:
        self.delivery = transport.delivery
        self._transport, self._beat = transport, beat

    def send(self, message: EmailMessage) -> str:
        self._beat()
        try:
            return self._transport.send(message)
        finally:
            self._beat()


def serve(ws: Workspace, settings: Settings, stop: threading.Event, *, mail_every_s: float = 30.0) -> int:
    """`billdrop run`: watch the inboxes until `stop` is set; SIGTERM lets the current file finish."""
    heartbeat = Heartbeat.from_environment()
    ctx = replace(build_context(ws, settings), progress=heartbeat.beat)
    ctx.pdf.start()
    transport = _BeatingTransport(mail_transport(ws, settings), heartbeat.beat)
    watcher = InboxWatcher(
        {
            name: WatchedFolder(ws.inbox(name), polling=conf.polling)
            for name, conf in settings.sources.items()
        },
        quiet_s=settings.watch.quiet_seconds,
        rescan_s=settings.watch.rescan_seconds,
    )
    watcher.start()
    sd_notify("READY=1")
    heartbeat.start()
    log.info("service.started", workspace=str(ws.root), sources=list(settings.sources))
    next_mail = next_retry = next_remind = 0.0
    try:
        while not stop.is_set():
            ctx.store.verify()  # state.sqlite deleted or replaced: StoreLostError stops the service
            heartbeat.beat()
            batch = processing_order(ctx, watcher.get_batch(timeout=1.0))
            for ready in batch:
                if stop.is_set():  # SIGTERM: the current file finishes, the rest wait in the inbox
                    break
                _handle(ready.source, ready.path, ctx)
                watcher.done(ready.path)
            now = time.monotonic()
            if now >= next_retry:  # files a failure (disk full, DB locked) left in work/
                _guarded("file.failed", lambda: resume_work(ctx, retry_now=False))
                _guarded("backup.failed", lambda: daily_backup(ctx.store, ws, ctx.clock().date(),
                                                               settings.backup))
                next_retry = now + settings.watch.rescan_seconds
            if ctx.clock().hour >= settings.reminders.send_at_hour and now >= next_remind:
                _guarded("reminders.failed", lambda: queue_reminders(ctx, ctx.clock().date()))
                next_remind = now + REMIND_EVERY_S
            if now >= next_mail or batch:
                _guarded("mail.flush_failed", lambda: flush(ctx, transport))
                next_mail = now + mail_every_s
    finally:
        heartbeat.stop()
        watcher.stop()
        ctx.close()
        log.info("service.stopped")
    return 0


def _handle(source: str, path: Path, ctx: Context) -> None:
    claimed = inbox.claim(path, ctx.workspace.work(source))
    if claimed is not None:
        _guarded("file.failed", lambda: process_file(claimed, source, ctx))


def _guarded(event: str, func: Callable[[], T]) -> T | None:
    """Environment failures (disk, SMTP, DB) are logged and retried later; the service keeps running."""
    try:
        return func()
    except Exception:
        log.exception(event)
        return None
