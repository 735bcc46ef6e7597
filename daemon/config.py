"""Settings: the pydantic model of billdrop.toml plus BILLDROP_* secrets from the environment (shell)."""
from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from daemon import shipped
from daemon.core.cleaning import parse_vat_rate
from daemon.core.documents import DocumentKind, InvoiceDate, IssueRules
from daemon.core.ids import account_error, bik_error, corr_account_error, inn_error, kpp_error, ogrn_error
from daemon.core.money import NO_VAT, VatRate
from daemon.core.numbering import (
    WORST_CASE_PERIOD,
    format_error,
    worst_case_length,
)
from daemon.core.onec import vat_rate_problem
from daemon.core.records import BankAccount, Company
from daemon.core.sources.payouts import PayoutTerms

CONFIG_NAME = "billdrop.toml"


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

    @model_validator(mode="after")
    def _requisites_valid(self) -> CompanySettings:
        """The company's own ИНН, КПП and bank account go on every document: checked before anything runs."""
        problems = {
            "inn": inn_error(self.inn),
            "kpp": kpp_error(self.kpp) if self.kpp else (
                None if len(self.inn) == 12 else "КПП организации не задан"
            ),
            "ogrn": ogrn_error(self.ogrn) if self.ogrn else None,
            "bank.bik": bik_error(self.bank.bik),
            "bank.account": account_error(self.bank.account, self.bank.bik),
            "bank.corr_account": corr_account_error(self.bank.corr_account, self.bank.bik),
            **{f"other_accounts.{i}": "счёт — 20 цифр" for i, a in enumerate(self.other_accounts)
               if not (len(a) == 20 and a.isdigit())},
        }
        for key, problem in problems.items():
            if problem:
                raise ValueError(f"company.{key}: {problem}")
        return self

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

    @property
    def loaded_version(self) -> str | None:
        """The EnterpriseData version 1C loads, or None when nothing goes to 1C."""
        return self.version if self.enabled else None


class SmtpSettings(_Frozen):
    host: str
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    timeout_seconds: float = 15.0   # each connect and reply: a silent relay costs seconds, not minutes


class MailSettings(_Frozen):
    sender: str = "billdrop@localhost"
    operators: tuple[str, ...] = ()
    smtp: SmtpSettings | None = None   # none: .eml files in <workspace>/mail/
    max_attempts: int = 10
    retry_base_seconds: float = 60.0   # first retry after this, doubling up to an hour


class ReminderSettings(_Frozen):
    days_after_due: tuple[int, ...] = (3, 10)   # a reminder on each of these days after the due date
    default_manager: str | None = None          # gets the digest for clients without their own manager
    send_at_hour: int = 9                       # the daemon sends the day's reminders from this hour on


class WatchSettings(_Frozen):
    quiet_seconds: float = 5.0
    rescan_seconds: float = 60.0
    # a committed file whose outputs fail (disk full, a broken template) is retried after rescan_seconds,
    # doubling up to an hour; the operator is told once this many attempts have failed
    output_alert_attempts: int = 3
    # after this many it is parked as stuck (one more notice) until `billdrop retry`: the queue goes on
    stuck_after_attempts: int = Field(default=8, ge=1)


class BackupSettings(_Frozen):
    keep_days: int = Field(default=14, ge=1)   # the daemon copies state.sqlite to backups/ once a day


def _parse_vat(text: str) -> VatRate:
    rate = parse_vat_rate(text)
    return NO_VAT if rate is None else rate


DEFAULT_NUMBERING = "{period:%y%m}-{seq:05}"
ORDER_NUMBERING = "{period:%y}{seq:04}"   # payment orders: digits only, at most 6 (the bank's field)
ORDER_NUMBER_DIGITS = 6
STATEMENT_SCHEMA = "bank_statement"   # the built-in 1CClientBankExchange reader, not a TOML table schema


class _Source(_Frozen):
    """What every inbox has: inbox/<name>/ read with `schema` (inbox_schemas/<schema>.toml)."""

    schema_name: str = Field(alias="schema")
    polling: bool = False       # PollingObserver for SMB/NFS shares (inotify sees no remote writes)
    numbering: dict[DocumentKind, str] = Field(default_factory=dict)
    account_digits: int = 6     # longest лицевой счёт, for the 1C number-length check

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    allowed_documents: ClassVar[frozenset[DocumentKind]] = frozenset()

    @property
    def issues(self) -> tuple[DocumentKind, ...]:
        """The document kinds this source numbers."""
        return ()

    def number_format(self, kind: DocumentKind) -> str:
        default = ORDER_NUMBERING if kind is DocumentKind.PAYMENT_ORDER else DEFAULT_NUMBERING
        return self.numbering.get(kind, default)

    @field_validator("numbering")
    @classmethod
    def _numbering_kinds(cls, value: dict[DocumentKind, str]) -> dict[DocumentKind, str]:
        _only(cls, value)
        return value


def _only(source: type[_Source], kinds: Iterable[DocumentKind]) -> None:
    wrong = [k.value for k in kinds if k not in source.allowed_documents]
    if wrong:
        allowed = ", ".join(sorted(k.value for k in source.allowed_documents)) or "ничего"
        raise ValueError(f"{', '.join(wrong)}: источник этого вида выпускает только {allowed}")


class _IssuingSource(_Source):
    """A source that issues documents to counterparties: their set, VAT and due dates."""

    documents: tuple[DocumentKind, ...]
    vat: str = "без НДС"        # default rate when a row has none: «без НДС», «22%», «10%», «0%»...
    vat_included: bool = True   # amounts in the export include VAT (НДС в т.ч.) or VAT is on top
    payment_days: int = 10      # invoice due date = invoice date + N days (never before the day of issue + N)
    mail_clients: bool = True   # mail each counterparty its documents

    @property
    def issues(self) -> tuple[DocumentKind, ...]:
        return self.documents

    @property
    def vat_rate(self) -> VatRate:
        return _parse_vat(self.vat)

    @field_validator("vat")
    @classmethod
    def _vat_is_known(cls, value: str) -> str:
        _parse_vat(value)
        return value

    @field_validator("documents")
    @classmethod
    def _documents_allowed(cls, value: tuple[DocumentKind, ...]) -> tuple[DocumentKind, ...]:
        if not value:
            raise ValueError("нужен хотя бы один вид документа")
        _only(cls, value)
        return value

    def rules(self, onec: OneCSettings) -> IssueRules:
        return IssueRules(
            kinds=self.documents,
            number_formats={kind: self.number_format(kind) for kind in self.documents},
            default_vat=self.vat_rate,
            vat_included=self.vat_included,
            payment_days=self.payment_days,
            onec_version=onec.loaded_version,
        )


class ChargesSource(_IssuingSource):
    """A billing's charges export (charges, BGBilling): invoices with acts, УПД or счета-фактуры."""

    kind: Literal["charges"] = "charges"
    documents: tuple[DocumentKind, ...] = (DocumentKind.INVOICE, DocumentKind.ACT)
    allowed_documents: ClassVar[frozenset[DocumentKind]] = frozenset(
        {DocumentKind.INVOICE, DocumentKind.ACT, DocumentKind.UPD, DocumentKind.TAX_INVOICE}
    )
    # the invoice's date: the day billdrop issues it, or the first day of the billed month
    invoice_date: InvoiceDate = InvoiceDate.ISSUE

    def rules(self, onec: OneCSettings) -> IssueRules:
        return replace(super().rules(onec), invoice_date=self.invoice_date)


class PayoutsSource(_IssuingSource):
    """The payout platform's export: an agent's act per payout."""

    kind: Literal["payouts"] = "payouts"
    documents: tuple[DocumentKind, ...] = (DocumentKind.AGENT_ACT,)
    service: str = "Агентские услуги"           # the service an agent's act names
    contract_number: str = "АД-{contract_id}"   # a new agent's contract; {contract_id} = the link's file name
    allowed_documents: ClassVar[frozenset[DocumentKind]] = frozenset({DocumentKind.AGENT_ACT})

    def terms(self, onec: OneCSettings) -> PayoutTerms:
        return PayoutTerms(self.rules(onec), self.service, self.contract_number)


class AcceptancesSource(_Source):
    """Acts the agents accepted: a payment order each."""

    kind: Literal["acceptances"] = "acceptances"
    documents: tuple[DocumentKind, ...] = (DocumentKind.PAYMENT_ORDER,)
    allowed_documents: ClassVar[frozenset[DocumentKind]] = frozenset({DocumentKind.PAYMENT_ORDER})

    @property
    def issues(self) -> tuple[DocumentKind, ...]:
        return (DocumentKind.PAYMENT_ORDER,)

    @field_validator("documents")
    @classmethod
    def _documents_allowed(cls, value: tuple[DocumentKind, ...]) -> tuple[DocumentKind, ...]:
        _only(cls, value)
        return value

    def rules(self, onec: OneCSettings) -> IssueRules:
        kind = DocumentKind.PAYMENT_ORDER
        return IssueRules((kind,), {kind: self.number_format(kind)}, NO_VAT, True, 0, onec.loaded_version)


class BankSource(_Source):
    """Bank statements (1CClientBankExchange): credits to our accounts matched to invoices."""

    kind: Literal["bank"] = "bank"
    schema_name: str = Field(default=STATEMENT_SCHEMA, alias="schema")
    documents: tuple[DocumentKind, ...] = ()

    @field_validator("schema_name")
    @classmethod
    def _statement_reader(cls, value: str) -> str:
        if value != STATEMENT_SCHEMA:
            raise ValueError(f"выписки читает встроенный разбор «{STATEMENT_SCHEMA}», другой схемы нет")
        return value

    @field_validator("documents")
    @classmethod
    def _issues_nothing(cls, value: tuple[DocumentKind, ...]) -> tuple[DocumentKind, ...]:
        _only(cls, value)
        return value


SourceSettings = Annotated[
    ChargesSource | PayoutsSource | AcceptancesSource | BankSource, Field(discriminator="kind")
]
SOURCE_KINDS = ("charges", "payouts", "acceptances", "bank")
# A source without `kind` takes it from its schema: the shipped ones by name, a workspace's own by its
# `record`.
KIND_OF_RECORD = {"charge": "charges", "payout": "payouts", "acceptance": "acceptances"}


class Settings(_Frozen):
    company: CompanySettings
    onec: OneCSettings = OneCSettings()
    mail: MailSettings = MailSettings()
    watch: WatchSettings = WatchSettings()
    reminders: ReminderSettings = ReminderSettings()
    backup: BackupSettings = BackupSettings()
    sources: dict[str, SourceSettings]

    @model_validator(mode="after")
    def _documents_fit_1c(self) -> Settings:
        for name, source in self.sources.items():
            for kind in source.issues:
                problem = _number_format_problem(source, kind, onec_enabled=self.onec.enabled)
                if problem:
                    raise ValueError(f"sources.{name}.numbering.{kind.value}: {problem}")
            if isinstance(source, _IssuingSource) and self.onec.enabled:
                problem = vat_rate_problem(source.vat_rate, self.onec.version)
                if problem:
                    raise ValueError(
                        f'sources.{name}.vat: {problem}; выберите [onec] version = "1.17" или новее'
                    )
        return self


def _number_format_problem(source: _Source, kind: DocumentKind, *, onec_enabled: bool) -> str | None:
    fmt = source.number_format(kind)
    problem = format_error(fmt)
    if problem:
        return problem
    if kind is DocumentKind.PAYMENT_ORDER:
        number = fmt.format(period=WORST_CASE_PERIOD, seq=9999, account="", kind="")
        if not (number.isdigit() and len(number) <= ORDER_NUMBER_DIGITS):
            return (
                f"формат {fmt!r}: номер платёжного поручения — только цифры, не больше {ORDER_NUMBER_DIGITS}"
            )
    limit = kind.onec_number_limit
    length = worst_case_length(fmt, account_digits=source.account_digits, kind=kind.value)
    if onec_enabled and length > limit:
        return (
            f"формат {fmt!r} даёт номера до {length} символов, а 1С принимает не больше {limit}; выберите "
            "более короткий формат (например, без дефисов) или выключите выгрузку в 1С"
        )
    return None


def load_settings(workspace: Path, name: str = CONFIG_NAME) -> Settings:
    """Read and check `<workspace>/billdrop.toml`; raise ConfigError naming the file and setting."""
    path = workspace / name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: нет файла; создайте рабочую папку: billdrop init {workspace}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for source in (raw.get("sources") or {}).values():
        if isinstance(source, dict) and "kind" not in source:
            kind = _kind_of_schema(workspace, str(source.get("schema", "")))
            if kind:
                source["kind"] = kind
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: " + "; ".join(_problem(err) for err in exc.errors())) from None


def _kind_of_schema(workspace: Path, schema: str) -> str | None:
    if schema == STATEMENT_SCHEMA:
        return "bank"
    try:
        schema_path = resource_dir(workspace, "inbox_schemas") / f"{schema}.toml"
        record = tomllib.loads(schema_path.read_text(encoding="utf-8")).get("record")
    except (OSError, ConfigError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None   # reported when the schemas are loaded, naming the file
    return KIND_OF_RECORD.get(str(record))


def _problem(error: Any) -> str:
    """One pydantic error as the operator reads it: the setting's key and the reason in Russian."""
    loc = [str(part) for part in error["loc"]]
    if len(loc) > 2 and loc[0] == "sources" and loc[2] in SOURCE_KINDS:
        del loc[2]   # the union's tag, not a key of the file
    key = ".".join(loc)
    kind, message = error["type"], str(error["msg"])
    if kind == "missing":
        reason = "обязательный параметр не задан"
    elif kind == "extra_forbidden":
        reason = "неизвестный параметр"
    elif kind in ("literal_error", "enum"):
        reason = f"недопустимое значение {error.get('input')!r}; допустимы: {error['ctx']['expected']}"
    elif kind == "union_tag_not_found":
        key, reason = f"{key}.kind", f"не задан вид источника; допустимы: {', '.join(SOURCE_KINDS)}"
    elif kind == "union_tag_invalid":
        tag = error["ctx"]["tag"]
        key = f"{key}.kind"
        reason = f"неизвестный вид источника «{tag}»; допустимы: {', '.join(SOURCE_KINDS)}"
    else:
        reason = message.removeprefix("Value error, ")
    return f"{key}: {reason}" if key and not reason.startswith(("company.", "sources.")) else reason


def smtp_password() -> str | None:
    """The SMTP password comes from the environment only, never from the config file."""
    return os.environ.get("BILLDROP_SMTP_PASSWORD")


def builtin_dir(name: str) -> Path:
    """A shipped resource folder (`inbox_schemas`, `templates`, `samples`, `systemd`): package data of
    `daemon.shipped`, in a checkout the top-level folder itself."""
    folder = Path(str(resources.files(shipped) / name))
    if not folder.is_dir():
        raise ConfigError(f"нет встроенной папки {folder}: переустановите billdrop")
    return folder


def resource_dir(workspace: Path, name: str) -> Path:
    """The workspace's own copy of a resource folder if the user made one, else the shipped one."""
    own = workspace / name
    return own if own.is_dir() else builtin_dir(name)
