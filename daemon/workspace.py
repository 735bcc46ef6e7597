"""The workspace folder tree (design.md) and atomic writes into it (shell)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from daemon.config import ConfigError
from daemon.core.documents import Document
from daemon.inbox import safe_name


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "billdrop.toml"

    @property
    def state_path(self) -> Path:
        return self.root / "state.sqlite"

    def inbox(self, source: str) -> Path:
        return self.root / "inbox" / source

    def work(self, source: str) -> Path:
        return self.root / "work" / source

    def archive(self, source: str, when: date) -> Path:
        return self.root / "archive" / f"{when:%Y-%m}" / source

    def quarantine(self, source: str) -> Path:
        return self.root / "quarantine" / source

    def outbox(self, channel: str) -> Path:
        """`1c`, `edo`, `platform` or `bank`."""
        return self.root / "outbox" / channel

    @property
    def mail_dir(self) -> Path:
        return self.root / "mail"

    def document_pdf(self, doc: Document) -> Path:
        """documents/<ИНН>/<YYYY-MM>/<Вид>_<номер>.pdf — the client's own archive, by the month the
        document closes: a November invoice issued on 1 December lies beside November's act."""
        folder = self.root / "documents" / safe_name(doc.counterparty.inn) / f"{doc.period_end:%Y-%m}"
        return folder / safe_name(f"{PDF_PREFIX[doc.kind.value]}_{doc.number}.pdf")

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def create(self, sources: list[str]) -> list[Path]:
        """Make the folders that are missing; returns those it made."""
        folders = [self.root / name for name in ("work", "archive", "quarantine", "documents", "mail")]
        folders.append(self.root / "outbox")
        folders += [self.outbox(channel) for channel in ("1c", "edo", "platform", "bank")]
        folders += [self.root / "inbox"] + [path for source in sources
                                            for path in (self.inbox(source), self.work(source))]
        made = [folder for folder in folders if not folder.is_dir()]
        for folder in made:
            folder.mkdir(parents=True, exist_ok=True)
        self._refuse_links(sources)
        return made

    def _refuse_links(self, sources: list[str]) -> None:
        """Files are moved out of inbox/ and through work/, quarantine/ and archive/ by rename: a folder
        there that is a symlink would make billdrop take files from (or put them into) another place."""
        folders = [self.root / name for name in ("inbox", "work", "quarantine", "archive")]
        folders += [path for source in sources for path in (self.inbox(source), self.work(source),
                                                             self.quarantine(source))]
        links = [self.relative(path) for path in folders if path.is_symlink()]
        if links:
            raise ConfigError(f"в рабочей папке {self.root} символические ссылки вместо папок: "
                              f"{', '.join(links)}; замените их настоящими папками (файлы перемещаются "
                              "переименованием)")


def foreign_owner(root: Path) -> tuple[int, int] | None:
    """The (uid, gid) owning `root` when we run as root in another user's folder: the service user's
    workspace, made by tmpfiles.d. Files root makes there the service could not change."""
    stat = root.stat()
    return (stat.st_uid, stat.st_gid) if os.geteuid() == 0 and stat.st_uid != 0 else None


PDF_PREFIX = {
    "invoice": "Счет",
    "act": "Акт",
    "upd": "УПД",
    "tax_invoice": "СчетФактура",
    "agent_act": "АктАгента",
}


_TEMP_NAME = re.compile(r"^\..+\.([0-9]+)\.tmp$")


def temp_path(path: Path) -> Path:
    """Where `path` is written before the rename that makes it whole: «.name.<writer's pid>.tmp»."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def remove_stale_temps(ws: Workspace) -> list[Path]:
    """Temp files of writers that are gone (a process killed mid-write, with its PDF workers): removed, so
    a crash leaves no half-written file among the outputs. A living writer's temp files are kept."""
    stale = []
    for folder in ("documents", "outbox", "mail", "quarantine", "backups"):
        for path in (ws.root / folder).rglob(".*.tmp"):
            found = _TEMP_NAME.match(path.name)
            if found and not _running(int(found[1])):
                path.unlink(missing_ok=True)
                stale.append(path)
    return stale


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file beside `path`, fsync, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:  # disk full, I/O error: no half-written file is left behind
        tmp.unlink(missing_ok=True)
        raise
