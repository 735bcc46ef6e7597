"""Operator actions without SQL: put quarantined files or failed mails through again, annul issued
documents (shell)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import structlog

from daemon import inbox
from daemon.config import ConfigError, Settings
from daemon.context import Context, build_context, local_now
from daemon.core.cancellations import Cancellation, Refused, choose_cancellation, revocation_note
from daemon.core.documents import Document, DocumentKind
from daemon.core.report import SIDECAR_SUFFIXES, is_sidecar, sidecar_name
from daemon.core.sources.acceptances import PaymentOrder
from daemon.mail_queue import retry_failed_mail
from daemon.render.enterprisedata import message_file_name, render_deletion
from daemon.runner import FileOutcome, Quarantined, process_file
from daemon.service import flush, mail_transport
from daemon.store import cancellations
from daemon.workspace import Workspace, write_atomic

log = structlog.get_logger()


def quarantined(ws: Workspace, settings: Settings) -> list[tuple[str, Path]]:
    """Every file in quarantine/<source>/ (not its reports), by source and name."""
    return [
        (source, path)
        for source in settings.sources
        if ws.quarantine(source).is_dir()
        for path in sorted(ws.quarantine(source).iterdir())
        if path.is_file() and not is_sidecar(path.name)
    ]


def find_quarantined(ws: Workspace, settings: Settings, given: Path) -> tuple[str, Path]:
    """The quarantined (or stuck, in work/) file `given` names: a path, or one relative to quarantine/ or
    work/, or a bare name."""
    folders = (ws.root / "quarantine", ws.root / "work")
    tried = [given, *(folder / given for folder in folders),
             *(place(source) / given for place in (ws.quarantine, ws.work) for source in settings.sources)]
    for path in (p.resolve() for p in tried):
        source = path.parent.name
        if path.is_file() and path.parent.parent in folders and source in settings.sources and not is_sidecar(
            path.name
        ):
            return source, path
    raise ConfigError(f"{given}: такого файла нет в карантине {ws.root / 'quarantine'}/<источник>/ "
                      f"и среди остановленных в {ws.root / 'work'}/<источник>/")


def retry_files(ws: Workspace, settings: Settings, targets: list[tuple[str, Path]],
                clock: Callable[[], datetime] = local_now) -> list[FileOutcome]:
    """Each file back through the runner from work/<source>/ (a stuck one through its outputs again); a file
    that leaves quarantine leaves its reports behind, one quarantined again gets fresh ones."""
    ctx = build_context(ws, settings, clock)
    outcomes = []
    try:
        for source, path in targets:
            claimed = path if path.parent == ws.work(source) else inbox.claim(path, ws.work(source))
            if claimed is None:  # taken away meanwhile
                continue
            log.info("file.retried", file=path.name, source=source)
            outcome = process_file(claimed, source, ctx, unstick=True)
            if not (isinstance(outcome, Quarantined) and claimed.name == path.name):
                for suffix in SIDECAR_SUFFIXES:
                    path.with_name(sidecar_name(path.name, suffix)).unlink(missing_ok=True)
            outcomes.append(outcome)
        flush(ctx, mail_transport(ws, settings))
    finally:
        ctx.close()
    return outcomes


def retry_mail(ws: Workspace, settings: Settings, job_ids: list[int] | None,
               clock: Callable[[], datetime] = local_now) -> tuple[list[int], dict[str, int]]:
    """Failed mail jobs (`status` lists their numbers; None: all) back into the queue, then one flush;
    returns the ids requeued (an unknown or not failed id is not among them) and the flush's counts."""
    ctx = build_context(ws, settings, clock)
    try:
        requeued = retry_failed_mail(ctx.store, job_ids, ctx.clock())
        counts = flush(ctx, mail_transport(ws, settings))
    finally:
        ctx.close()
    return requeued, counts


def cancel_document(ws: Workspace, settings: Settings, number: str, kind: DocumentKind | None, reason: str,
                    clock: Callable[[], datetime] = local_now) -> Cancellation | Refused:
    """Annul one issued document in one transaction, its outputs written inside it (a failure leaves
    nothing cancelled): 1C's УдалениеОбъекта, the marked PDF, a payment order's revocation note."""
    ctx = build_context(ws, settings, clock)
    try:
        with ctx.store.transaction() as conn:
            found = cancellations.candidates(conn, number)
            chosen = choose_cancellation(number, kind, found, reason, ctx.clock())
            if isinstance(chosen, Refused):
                return chosen
            written = _write_cancellation(ctx, chosen, cancellations.cancel(conn, chosen))
    finally:
        ctx.close()
    log.info("document.cancelled", kind=chosen.kind.value, number=chosen.number, inn=chosen.inn,
             total=str(chosen.total), reason=chosen.reason, outputs=written)
    return chosen


def _write_cancellation(ctx: Context, c: Cancellation, issued: Document | PaymentOrder) -> list[str]:
    """The annulment's outputs; returns their workspace-relative paths."""
    ws = ctx.workspace
    outputs: list[tuple[Path, bytes]] = []
    if ctx.settings.onec.enabled:
        version = ctx.settings.onec.version
        name = message_file_name("cancel", c.cancelled_at, f"{c.kind.value}-{c.number}", version=version)
        deletion = render_deletion(c.kind, c.number, c.date, ctx.company, version=version, now=c.cancelled_at)
        outputs.append((ws.outbox("1c") / name, deletion))
    if isinstance(issued, PaymentOrder):
        note = revocation_note(issued, c).encode("utf-8")
        outputs.append((ws.outbox("bank") / inbox.safe_name(f"ОТЗЫВ_ПП_{c.number}.txt"), note))
    else:
        pdf = ctx.pdf.render_cancelled(issued, ctx.company, c)
        outputs.append((ws.document_pdf(issued), pdf))
        if issued.kind is DocumentKind.AGENT_ACT:  # the agent's cabinet shows the mark too
            outputs.append((ws.outbox("platform") / inbox.safe_name(f"{issued.basis}.pdf"), pdf))
    for path, data in outputs:
        write_atomic(path, data)
    return [ws.relative(path) for path, _ in outputs]
