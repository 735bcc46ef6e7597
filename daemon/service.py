"""The long-running service and the one-shot run: intake, processing, mail, systemd notify (shell)."""
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import structlog

from daemon import inbox
from daemon.config import Settings, resource_dir, smtp_password
from daemon.core.schema import parse_schema
from daemon.dunning import queue_reminders
from daemon.mail_queue import flush_mail, mail_templates
from daemon.mailer import EmlFolderTransport, SmtpTransport, Transport
from daemon.pipeline import Deps, FileOutcome, Quarantined, process_file
from daemon.render.pdf import PdfPool
from daemon.store import Store
from daemon.watcher import InboxWatcher, WatchedFolder
from daemon.workspace import Workspace

log = structlog.get_logger()
REMIND_EVERY_S = 3600.0   # reminders are keyed by invoice and level, so re-running them sends nothing twice


def local_now() -> datetime:
    """Wall-clock time without a zone: 1C and the forms use the organisation's local time."""
    return datetime.now().replace(microsecond=0)


def build_deps(ws: Workspace, settings: Settings, clock: Callable[[], datetime] = local_now) -> Deps:
    schemas_dir = resource_dir(ws.root, "inbox_schemas")
    templates = resource_dir(ws.root, "templates")
    schema_names = {conf.schema_name for conf in settings.sources.values() if not conf.is_statement}
    ws.create(list(settings.sources))
    return Deps(
        workspace=ws,
        settings=settings,
        company=settings.company.to_company(),
        store=Store(ws.state_path),
        schemas={
            name: parse_schema((schemas_dir / f"{name}.toml").read_text(encoding="utf-8"), name)
            for name in schema_names
        },
        pdf=PdfPool(templates / "pdf"),
        mail_templates=mail_templates(templates / "mail"),
        clock=clock,
    )


def close_deps(deps: Deps) -> None:
    deps.pdf.close()
    deps.store.close()


def mail_transport(ws: Workspace, settings: Settings) -> Transport:
    smtp = settings.mail.smtp
    if smtp is None:
        return EmlFolderTransport(ws.mail_dir)
    return SmtpTransport(
        smtp.host, smtp.port, smtp.security, smtp.username, smtp_password(), timeout_s=smtp.timeout_seconds
    )


def resume_work(deps: Deps) -> list[FileOutcome]:
    """Finish files a previous run left in work/ (claimed, maybe committed, not archived)."""
    outcomes = []
    for source in deps.settings.sources:
        for path in sorted(p for p in deps.workspace.work(source).iterdir() if p.is_file()):
            log.info("file.resumed", file=path.name, source=source)
            outcomes.append(process_file(path, source, deps))
    return outcomes


def process_inboxes(deps: Deps) -> list[FileOutcome]:
    """Claim and process every file now in the inboxes, oldest first."""
    outcomes = resume_work(deps)
    for source in deps.settings.sources:
        folder = deps.workspace.inbox(source)
        candidates = sorted(
            (p for p in folder.iterdir() if p.is_file() and not inbox.is_junk(p.name)),
            key=lambda p: (p.stat().st_mtime, p.name),
        )
        for path in candidates:
            claimed = inbox.claim(path, deps.workspace.work(source))
            if claimed is not None:
                outcomes.append(process_file(claimed, source, deps))
    return outcomes


def run_once(ws: Workspace, settings: Settings, clock: Callable[[], datetime] = local_now) -> int:
    """`billdrop process`: 0 when every file was accepted, 1 when any was quarantined."""
    deps = build_deps(ws, settings, clock)
    deps.pdf.start()  # workers load WeasyPrint while the first file is read and validated
    outcomes = process_inboxes(deps)
    flush_mail(deps, mail_transport(ws, settings))
    close_deps(deps)
    return 1 if any(isinstance(o, Quarantined) for o in outcomes) else 0


def remind_once(ws: Workspace, settings: Settings, clock: Callable[[], datetime] = local_now) -> int:
    """`billdrop remind`: queue today's reminders and digests, then send the mail queue."""
    deps = build_deps(ws, settings, clock)
    queued = queue_reminders(deps, deps.clock().date())
    flush_mail(deps, mail_transport(ws, settings))
    close_deps(deps)
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


def serve(ws: Workspace, settings: Settings, stop: threading.Event, *, mail_every_s: float = 30.0) -> int:
    """`billdrop run`: watch the inboxes until `stop` is set; SIGTERM lets the current file finish."""
    deps = build_deps(ws, settings)
    deps.pdf.start()
    transport = mail_transport(ws, settings)
    watcher = InboxWatcher(
        {name: WatchedFolder(ws.inbox(name), polling=conf.polling) for name, conf in settings.sources.items()},
        quiet_s=settings.watch.quiet_seconds,
        rescan_s=settings.watch.rescan_seconds,
    )
    watcher.start()
    sd_notify("READY=1")
    log.info("service.started", workspace=str(ws.root), sources=list(settings.sources))
    next_mail = next_retry = next_remind = 0.0
    try:
        while not stop.is_set():
            sd_notify("WATCHDOG=1")
            ready = watcher.get(timeout=1.0)
            if ready is not None:
                _handle(ready.source, ready.path, deps)
                watcher.done(ready.path)
            now = time.monotonic()
            if now >= next_retry:  # files a failure (disk full, DB locked) left in work/
                _guarded("file.failed", resume_work, deps)
                next_retry = now + settings.watch.rescan_seconds
            if deps.clock().hour >= settings.reminders.send_at_hour and now >= next_remind:
                _guarded("reminders.failed", queue_reminders, deps, deps.clock().date())
                next_remind = now + REMIND_EVERY_S
            if now >= next_mail or ready is not None:
                _guarded("mail.flush_failed", flush_mail, deps, transport)
                next_mail = now + mail_every_s
    finally:
        watcher.stop()
        close_deps(deps)
        log.info("service.stopped")
    return 0


def _handle(source: str, path: Path, deps: Deps) -> None:
    claimed = inbox.claim(path, deps.workspace.work(source))
    if claimed is not None:
        _guarded("file.failed", process_file, claimed, source, deps)


def _guarded(event: str, func: Callable, *args) -> None:
    """Environment failures (disk, SMTP, DB) are logged and retried later; the service keeps running."""
    try:
        func(*args)
    except Exception:
        log.exception(event)
