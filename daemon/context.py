"""What processing needs from the outside world, built once per process and passed down (shell)."""
from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import structlog

from daemon import inbox
from daemon.config import STATEMENT_SCHEMA, ConfigError, Settings, resource_dir
from daemon.core.records import Company
from daemon.core.schema import SourceSchema, parse_schema
from daemon.mail_queue import MailComposer, mail_templates
from daemon.render.pdf import PdfPool
from daemon.store import Store
from daemon.workspace import Workspace, remove_stale_temps

# The `record` a kind's TOML schema must declare (a bank statement has its own reader, no schema).
SCHEMA_RECORD = {"charges": "charge", "payouts": "payout", "acceptances": "acceptance"}

log = structlog.get_logger()


def local_now() -> datetime:
    """Wall-clock time without a zone: 1C and the forms use the organisation's local time."""
    return datetime.now().replace(microsecond=0)


@dataclass(frozen=True)
class Context:
    """The workspace, its settings and state, the PDF pool, the mail composer and the clock.

    `move` moves a file out of work/ (inbox.finish); tests pass one that fails to crash at that step.
    `progress` is called at each step of work done (the service's watchdog heartbeat).
    """

    workspace: Workspace
    settings: Settings
    company: Company
    store: Store
    schemas: Mapping[str, SourceSchema]
    pdf: PdfPool
    mail: MailComposer
    clock: Callable[[], datetime] = local_now
    move: Callable[..., Path] = field(default=inbox.finish)
    progress: Callable[[], None] = field(default=lambda: None)

    def close(self) -> None:
        self.pdf.close()
        self.store.close()


def load_schemas(folder: Path, settings: Settings) -> dict[str, SourceSchema]:
    """Each source's schema from `folder`, checked to be of the source's kind."""
    schemas = {}
    for name, conf in settings.sources.items():
        if conf.schema_name == STATEMENT_SCHEMA:
            continue
        path = folder / f"{conf.schema_name}.toml"
        try:
            schema = parse_schema(path.read_text(encoding="utf-8"), conf.schema_name)
        except FileNotFoundError:
            raise ConfigError(f"sources.{name}.schema: нет схемы «{conf.schema_name}» (inbox_schemas/"
                              f"{conf.schema_name}.toml в рабочей папке или среди встроенных)") from None
        except (ValueError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"inbox_schemas/{conf.schema_name}.toml: {exc}") from None
        expected = SCHEMA_RECORD[conf.kind]
        if schema.record != expected:
            raise ConfigError(
                f"sources.{name}: источник вида {conf.kind} читает записи «{expected}», а схема "
                f"«{conf.schema_name}» описывает «{schema.record}»"
            )
        schemas[conf.schema_name] = schema
    return schemas


def build_context(ws: Workspace, settings: Settings, clock: Callable[[], datetime] = local_now) -> Context:
    templates = resource_dir(ws.root, "templates")
    schemas = load_schemas(resource_dir(ws.root, "inbox_schemas"), settings)
    ws.create(list(settings.sources))
    for stale in remove_stale_temps(ws):
        log.info("workspace.stale_temp_removed", path=ws.relative(stale))
    company = settings.company.to_company()
    return Context(
        workspace=ws,
        settings=settings,
        company=company,
        store=Store(ws.state_path),
        schemas=schemas,
        pdf=PdfPool(templates / "pdf"),
        mail=MailComposer(mail_templates(templates / "mail"), company, settings.mail.sender),
        clock=clock,
    )
