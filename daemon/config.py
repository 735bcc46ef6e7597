"""Settings: the pydantic model of billdrop.toml plus BILLDROP_* secrets from the environment (shell)."""
from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from daemon.core.documents import DocumentKind
from daemon.core.money import NO_VAT, VatRate
from daemon.core.numbering import (
    ONEC_NUMBER_LIMIT,
    ONEC_TAX_INVOICE_LIMIT,
    WORST_CASE_PERIOD,
    format_error,
    worst_case_length,
)
from daemon.core.records import BankAccount, Company

CONFIG_NAME = "billdrop.toml"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """billdrop.toml is missing or wrong; the message names the file and the setting."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BankSettings(_Frozen):
    account: str
    bik: str
    bank_name: str
    corr_account: str


class CompanySettings(_Frozen):
    name: str
    full_name: str = ""
    inn: str
    kpp: str | None = None
    address: str
    director: str
    accountant: str = ""
    director_title: str = "Генеральный директор"
    phone: str = ""
    email: str = ""
    ogrn: str = ""
    edo_id: str = ""
    bank: BankSettings
    other_accounts: tuple[str, ...] = ()   # more of our settlement accounts that statements may cover

    @property
    def accounts(self) -> frozenset[str]:
        return frozenset((self.bank.account, *self.other_accounts))

    def to_company(self) -> Company:
        return Company(
            name=self.name,
            full_name=self.full_name or self.name,
            inn=self.inn,
            kpp=self.kpp,
            address=self.address,
            bank=BankAccount(**self.bank.model_dump()),
            director=self.director,
            accountant=self.accountant,
            phone=self.phone,
            email=self.email,
            ogrn=self.ogrn,
            director_title=self.director_title,
            edo_id=self.edo_id,
        )


class OneCSettings(_Frozen):
    enabled: bool = True
    version: Literal["1.11", "1.17", "1.20", "1.22"] = "1.20"


class SmtpSettings(_Frozen):
    host: str
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    timeout_seconds: float = 30.0


class MailSettings(_Frozen):
    sender: str = "billdrop@localhost"
    operators: tuple[str, ...] = ()
    smtp: SmtpSettings | None = None   # none: .eml files in <workspace>/mail/
    max_attempts: int = 10
    retry_base_seconds: float = 60.0   # first retry after this, doubling up to an hour
    send_to_clients: bool = True


class ReminderSettings(_Frozen):
    days_after_due: tuple[int, ...] = (3, 10)   # a reminder on each of these days after the due date
    default_manager: str | None = None          # gets the digest for clients without their own manager
    send_at_hour: int = 9                       # the daemon sends the day's reminders from this hour on


class WatchSettings(_Frozen):
    quiet_seconds: float = 5.0
    rescan_seconds: float = 60.0


def _parse_vat(text: str) -> VatRate:
    from daemon.core.cleaning import parse_vat_rate

    rate = parse_vat_rate(text)
    return NO_VAT if rate is None else rate


DEFAULT_NUMBERING = "{period:%y%m}-{seq:05}"
ORDER_NUMBERING = "{period:%y}{seq:04}"   # payment orders: digits only, at most 6 (the bank's field)
ORDER_NUMBER_DIGITS = 6
STATEMENT_SCHEMA = "bank_statement"   # the built-in 1CClientBankExchange reader, not a TOML table schema


class SourceSettings(_Frozen):
    """One inbox: its schema, the documents it issues and how they are numbered and taxed."""

    schema_name: str = Field(alias="schema")
    documents: tuple[DocumentKind, ...] = (DocumentKind.INVOICE, DocumentKind.ACT)
    vat: str = "без НДС"        # default rate when a row has none: «без НДС», «22%», «10%», «0%»...
    vat_included: bool = True   # amounts in the export include VAT (НДС в т.ч.) or VAT is on top
    numbering: dict[DocumentKind, str] = Field(default_factory=dict)
    account_digits: int = 6     # longest лицевой счёт, for the 1C number-length check
    payment_days: int = 10      # invoice due date = invoice date + N days
    polling: bool = False       # PollingObserver for SMB/NFS shares (inotify sees no remote writes)
    mail_clients: bool = True
    service: str = "Агентские услуги"           # payouts: the service an agent's act names
    contract_number: str = "АД-{contract_id}"   # payouts: a new agent's contract; {contract_id} = the link's file name

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @property
    def is_statement(self) -> bool:
        return self.schema_name == STATEMENT_SCHEMA

    @property
    def vat_rate(self) -> VatRate:
        return _parse_vat(self.vat)

    def number_format(self, kind: DocumentKind) -> str:
        default = ORDER_NUMBERING if kind is DocumentKind.PAYMENT_ORDER else DEFAULT_NUMBERING
        return self.numbering.get(kind, default)

    @field_validator("vat")
    @classmethod
    def _vat_is_known(cls, value: str) -> str:
        _parse_vat(value)
        return value


class Settings(_Frozen):
    company: CompanySettings
    onec: OneCSettings = OneCSettings()
    mail: MailSettings = MailSettings()
    watch: WatchSettings = WatchSettings()
    reminders: ReminderSettings = ReminderSettings()
    sources: dict[str, SourceSettings]

    @model_validator(mode="after")
    def _numbers_fit_1c(self) -> Settings:
        for name, source in self.sources.items():
            for kind in () if source.is_statement else source.documents:
                fmt = source.number_format(kind)
                problem = format_error(fmt)
                if problem:
                    raise ValueError(f"sources.{name}.numbering.{kind.value}: {problem}")
                limit = ONEC_TAX_INVOICE_LIMIT if kind is DocumentKind.TAX_INVOICE else ONEC_NUMBER_LIMIT
                length = worst_case_length(fmt, account_digits=source.account_digits, kind=kind.value)
                if kind is DocumentKind.PAYMENT_ORDER and not _order_number_fits(fmt):
                    raise ValueError(
                        f"sources.{name}.numbering.{kind.value}: формат {fmt!r}: номер платёжного поручения — "
                        f"только цифры, не больше {ORDER_NUMBER_DIGITS}"
                    )
                if self.onec.enabled and length > limit:
                    raise ValueError(
                        f"sources.{name}.numbering.{kind.value}: формат {fmt!r} даёт номера до {length} "
                        f"символов, а 1С принимает не больше {limit}; выберите более короткий формат "
                        "(например, без дефисов) или выключите выгрузку в 1С"
                    )
        return self


def _order_number_fits(fmt: str) -> bool:
    number = fmt.format(period=WORST_CASE_PERIOD, seq=9999, account="", kind="")
    return number.isdigit() and len(number) <= ORDER_NUMBER_DIGITS


def load_settings(workspace: Path) -> Settings:
    """Read and check `<workspace>/billdrop.toml`; raise ConfigError naming the file and setting."""
    path = workspace / CONFIG_NAME
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found; create a workspace with `billdrop init {workspace}`") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None


def smtp_password() -> str | None:
    """The SMTP password comes from the environment only, never from the config file."""
    return os.environ.get("BILLDROP_SMTP_PASSWORD")


def builtin_dir(name: str) -> Path:
    """A shipped resource folder (`inbox_schemas`, `templates`) of this checkout or installation."""
    for candidate in (PROJECT_ROOT / name, Path(sys.prefix) / "share" / "billdrop" / name):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"shipped folder {name!r} not found next to the package or in {sys.prefix}/share")


def resource_dir(workspace: Path, name: str) -> Path:
    """The workspace's own copy of a resource folder if the user made one, else the shipped one."""
    own = workspace / name
    return own if own.is_dir() else builtin_dir(name)
