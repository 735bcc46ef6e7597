"""Command line, in Russian: init | run | process | check | status | retry | cancel | remind | backup |
mail-test | demo | install-service (shell)."""
from __future__ import annotations

import argparse
import errno
import os
import pwd
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from daemon.actions import cancel_document, find_quarantined, quarantined, retry_files, retry_mail
from daemon.backup import backup_workspace, daily_path, refuse_missing_store
from daemon.config import ConfigError, Settings, builtin_dir, load_settings, resource_dir
from daemon.context import load_schemas
from daemon.core.cancellations import KIND_NAMES, Refused
from daemon.core.documents import DocumentKind
from daemon.core.report import FileReport
from daemon.demo import demo_summary, run_demo
from daemon.inbox import Unfit
from daemon.install import SERVICE_USER, SHIPPED_WORKSPACE, install_service
from daemon.lock import WorkspaceBusy, workspace_lock
from daemon.log import LOG_LEVELS, configure_logging
from daemon.mailer import MailError, compose, mail_file
from daemon.runner import Failed, Planned, Quarantined, Rejected, Stuck, check_file, plan_file, take_input
from daemon.service import mail_transport, remind_once, run_once, serve
from daemon.status import collect_status, format_status, status_json
from daemon.store import Store, StoreLostError
from daemon.workspace import Workspace, foreign_owner

EXIT_OK, EXIT_QUARANTINED, EXIT_USAGE, EXIT_STORE_LOST, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
# argparse's own words, which it looks up through gettext when it prints them (Python 3.11-3.13)
ARGPARSE_RU = {
    "usage: ": "использование: ",
    "positional arguments": "аргументы",
    "options": "параметры",
    "show this help message and exit": "показать эту справку и выйти",
    "%(prog)s: error: %(message)s\n": "%(prog)s: ошибка: %(message)s\n",
    "argument %(argument_name)s: %(message)s": "%(argument_name)s: %(message)s",
    "the following arguments are required: %s": "не заданы обязательные аргументы: %s",
    "unrecognized arguments: %s": "лишние аргументы: %s",
    "invalid choice: %(value)r (choose from %(choices)s)":
        "недопустимое значение %(value)r, допустимы: %(choices)s",
    "invalid %(type)s value: %(value)r": "недопустимое значение %(value)r",
    "expected one argument": "нужно значение",
    "expected at most one argument": "нужно не больше одного значения",
    "expected at least one argument": "нужно хотя бы одно значение",
    "not allowed with argument %s": "нельзя вместе с %s",
    "ignored explicit argument %r": "лишнее значение %r",
    "one of the arguments %s is required": "нужен один из аргументов %s",
    "ambiguous option: %(option)s could match %(matches)s":
        "неоднозначный параметр %(option)s: подходят %(matches)s",
}
EPILOG = (
    "коды выхода: 0 — готово; 1 — файл не принят (process, retry, demo: в карантине или не выпущен; "
    "check: ошибки в файле; mail-test: письмо не ушло); 2 — ошибка в команде, настройках или путях; "
    "3 — база state.sqlite пропала или подменена (служба остановлена; восстановление — в README); "
    "130 — прервано (Ctrl+C). Подробности: billdrop КОМАНДА --help"
)


@contextmanager
def _argparse_in_russian() -> Iterator[None]:
    """argparse with ARGPARSE_RU for its gettext lookups, while the parser is built and parses."""
    names = vars(argparse)
    english = names["_"]
    names["_"] = lambda text: ARGPARSE_RU.get(text, text)
    try:
        yield
    finally:
        names["_"] = english


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="billdrop", description="Выгрузки биллинга на входе, закрывающие документы на выходе.",
        epilog=EPILOG,
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS,
                        help="подробность журнала (JSON в stderr); по умолчанию info, для demo — warning")
    sub = parser.add_subparsers(dest="command", required=True, metavar="КОМАНДА", title="команды")

    def command(name: str, text: str, workspace: bool | None = True) -> argparse.ArgumentParser:
        """A subcommand with `text` as its help; `-w` required (True), optional (None) or absent (False)."""
        cmd = sub.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".", )
        if workspace is not False:
            cmd.add_argument("-w", "--workspace", type=Path, required=workspace is True, metavar="ПАПКА",
                             help="рабочая папка (созданная billdrop init)")
        return cmd

    init = command("init", "создать рабочую папку с billdrop.toml (настройки с комментариями)", False)
    init.add_argument("dir", type=Path, metavar="ПАПКА")
    init.add_argument("--new-database", action="store_true",
                      help="начать с новой пустой базой, хотя документы уже выпускались (нумерация заново)")
    command("run", "служба: следить за входящими папками и обрабатывать файлы (SIGTERM: доделать текущий)")
    command("process", "обработать всё, что сейчас во входящих папках, и выйти")
    check = command("check", "проверить один файл, как его проверил бы process, и вывести отчёт; ничего не "
                    "меняет (без -w — со встроенными настройками)", None)
    check.add_argument("file", type=Path, metavar="ФАЙЛ")
    check.add_argument("--source", required=True, metavar="ИСТОЧНИК",
                       help="источник (его схема), например charges")
    command("remind", "поставить в очередь и отправить сегодняшние напоминания об оплате и сводки менеджерам")
    backup = command("backup", "резервная копия базы state.sqlite (можно при работающей службе)")
    backup.add_argument("--to", type=Path, metavar="ФАЙЛ",
                        help="куда; по умолчанию backups/state-ГГГГ-ММ-ДД.sqlite в рабочей папке")
    status = command("status", "файлы, карантин, неоплаченные и просроченные счета, платежи, почта")
    status.add_argument("--json", action="store_true", help="для программ: JSON")
    retry = command("retry", "вернуть файлы из карантина в обработку (после исправления настроек или схемы)")
    retry.add_argument("file", type=Path, nargs="?", metavar="ФАЙЛ",
                       help="файл в quarantine/<источник>/ (путь или имя)")
    retry.add_argument("--all", action="store_true", help="все файлы карантина")
    retry.add_argument("--mail", type=int, nargs="*", metavar="НОМЕР",
                       help="письма с ошибкой (номера из status; без номеров — все) снова в очередь")
    cancel = command("cancel", "аннулировать выпущенный документ: номер больше не выдаётся, 1С получает "
                     "УдалениеОбъекта, PDF помечается")
    cancel.add_argument("number", metavar="НОМЕР", help="номер документа")
    cancel.add_argument("--kind", choices=[kind.value for kind in KIND_NAMES],
                        help="вид документа, когда номер есть у нескольких")
    cancel.add_argument("--reason", required=True, metavar="ПРИЧИНА",
                        help="причина: печатается на PDF и попадает в журнал")
    mail_test = command("mail-test", "отправить тестовое письмо через почту из настроек (SMTP или .eml)")
    mail_test.add_argument("address", metavar="АДРЕС", help="кому")
    demo = command("demo", "создать рабочую папку, положить в неё примеры выгрузок и обработать их", False)
    demo.add_argument("dir", type=Path, nargs="?", default=Path("demo"), metavar="ПАПКА",
                      help="по умолчанию ./demo")
    install = command("install-service", "установить службу systemd: пользователь billdrop, рабочая папка "
                      "в его владении, юнит с путём к этому billdrop", False)
    install.add_argument("-w", "--workspace", type=Path, default=Path(SHIPPED_WORKSPACE), metavar="ПАПКА",
                         help=f"рабочая папка службы, по умолчанию {SHIPPED_WORKSPACE}")
    install.add_argument("--root", type=Path, default=Path("/"), metavar="КОРЕНЬ",
                         help="установить в образ системы в этой папке (по умолчанию /)")
    return parser


def main(argv: list[str] | None = None) -> int:
    with _argparse_in_russian():
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:  # --help, or a usage error argparse has printed
            _flush_stdout()
            return EXIT_OK if exc.code == 0 else EXIT_USAGE
    configure_logging(args.log_level or ("warning" if args.command == "demo" else "info"))
    try:
        _refuse_foreign_workspace(args)
        if args.command in STORE_COMMANDS:
            refuse_missing_store(Workspace(args.workspace.resolve()))
        if args.command not in EXCLUSIVE:
            return COMMANDS[args.command](args)
        return _exclusive(args)
    except (ConfigError, WorkspaceBusy) as exc:
        _fail(str(exc))
    except StoreLostError as exc:
        _fail(str(exc))
        return EXIT_STORE_LOST
    except OSError as exc:  # a path the user gave: missing, not a folder, no permission, disk full
        _fail(f"{exc.filename}: {ERRNO_RU.get(exc.errno or 0, exc.strerror)}" if exc.filename else str(exc))
    except KeyboardInterrupt:
        _fail("прервано")
        return EXIT_INTERRUPTED
    return EXIT_USAGE


ERRNO_RU = {
    errno.ENOENT: "нет такого файла или папки", errno.EACCES: "нет доступа", errno.EPERM: "не разрешено",
    errno.EEXIST: "уже существует", errno.ENOTDIR: "не папка", errno.EISDIR: "это папка, а не файл",
    errno.ENOSPC: "нет места на диске", errno.EROFS: "файловая система только для чтения",
}


def _say(text: str) -> None:
    """Print to stdout; a reader that has gone (`billdrop status | head`) only ends the output."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _drop_stdout()


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _drop_stdout()


def _drop_stdout() -> None:
    """The rest of stdout goes nowhere, so the interpreter's last flush cannot fail either."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _fail(message: str) -> None:
    print(f"billdrop: ошибка: {message}", file=sys.stderr)


# Commands that change the workspace: one at a time (status, check and backup only read, beside them).
EXCLUSIVE = frozenset({"run", "process", "retry", "cancel", "remind", "demo"})
# Commands that open state.sqlite, creating it when missing: refused where it was lost (backup.py).
STORE_COMMANDS = frozenset({"run", "process", "retry", "cancel", "remind", "status"})


def _refuse_foreign_workspace(args: argparse.Namespace) -> None:
    """Root must not write into the service user's workspace: the service could not change what it made."""
    workspace = getattr(args, "workspace", None)
    if args.command in ("check", "install-service") or workspace is None or not workspace.is_dir():
        return
    owner = foreign_owner(workspace)
    if owner:
        name = _user_name(owner[0])
        raise ConfigError(
            f"рабочая папка {workspace.resolve()} принадлежит пользователю {name}: запускайте billdrop "
            f"от его имени (runuser -u {name} -- billdrop {args.command} …), иначе служба не сможет "
            "менять файлы, созданные root"
        )


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _exclusive(args: argparse.Namespace) -> int:
    """The command with the workspace's lock held throughout; a missing folder is the command's to report."""
    root = (args.dir if args.command == "demo" else args.workspace).resolve()
    if args.command == "demo":
        root.mkdir(parents=True, exist_ok=True)
    if not root.is_dir():
        return COMMANDS[args.command](args)
    with workspace_lock(root):
        return COMMANDS[args.command](args)


def init_workspace(root: Path, *, new_database: bool = False) -> Workspace:
    """The folders and billdrop.toml; `new_database`: an empty state.sqlite where there is none."""
    ws = Workspace(root.resolve())
    ws.root.mkdir(parents=True, exist_ok=True)
    made = []
    if not ws.config_path.exists():
        shutil.copyfile(builtin_dir("templates") / "billdrop.toml", ws.config_path)
        made.append(ws.config_path)
    made += ws.create(list(load_settings(ws.root).sources))
    if new_database and not ws.state_path.exists():
        Store(ws.state_path).close()
        made.append(ws.state_path)
    owner = foreign_owner(ws.root)
    if owner:
        for path in made:
            os.chown(path, *owner)
    return ws


def _init(args: argparse.Namespace) -> int:
    ws = init_workspace(args.dir, new_database=args.new_database)
    _say(f"рабочая папка готова: {ws.root}\nзаполните {ws.config_path}, затем: "
         f"{_invocation()} run -w {ws.root}")
    return EXIT_OK


def _invocation() -> str:
    """billdrop as the user called it, for the commands we suggest: `billdrop` when that is the one on
    PATH, else the path typed (`.venv/bin/billdrop`), or `python -m daemon`."""
    called = sys.argv[0]
    if Path(called).name != "billdrop":
        return f"{Path(sys.executable).name} -m daemon"
    on_path = shutil.which("billdrop")
    return "billdrop" if on_path and Path(on_path).resolve() == Path(called).resolve() else called


def _executable() -> Path:
    """This billdrop's console script, for the unit's ExecStart."""
    called = Path(sys.argv[0])
    return called.absolute() if called.name == "billdrop" else Path(sys.executable).with_name("billdrop")


def _process(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    return run_once(ws, load_settings(ws.root))


def _run(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    settings = load_settings(ws.root)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return serve(ws, settings, stop)


def _check(args: argparse.Namespace) -> int:
    """The same read, validation and plan as `process` (numbers, control totals, ledger), nothing stored."""
    root = args.workspace.resolve() if args.workspace else None
    settings = load_settings(root) if root else shipped_settings()
    if args.source not in settings.sources:
        raise ConfigError(
            f"неизвестный источник «{args.source}»; в настройках есть: {', '.join(settings.sources)}"
        )
    schemas = load_schemas(
        resource_dir(root, "inbox_schemas") if root else builtin_dir("inbox_schemas"), settings
    )
    conf = settings.sources[args.source]
    try:  # as `process` reads it: a regular file within the size limit, never a link, a FIFO or a device
        taken = take_input(args.file, args.source, settings, schemas, sole_name=False)
    except FileNotFoundError:
        raise ConfigError(f"файл не найден: {args.file}") from None
    except OSError as exc:
        raise ConfigError(f"{args.file}: {exc.strerror}") from None
    if isinstance(taken, Unfit):
        print(FileReport.for_file(args.file.name, args.source, taken.reason).as_text())
        return EXIT_QUARANTINED
    data = taken.data
    print(
        f"{args.file.name}: источник «{args.source}» (вид {conf.kind}, схема {conf.schema_name})",
        file=sys.stderr,
    )
    checked = check_file(data, args.file.name, args.source, settings, schemas)
    planned: Planned | Rejected
    if isinstance(checked, Rejected):
        planned = checked
    else:
        for header, field in checked.mapped:
            print(f"  «{header}» → {field}", file=sys.stderr)
        if checked.ignored:
            print(f"  не используются: {', '.join(f'«{h}»' for h in checked.ignored)}", file=sys.stderr)
        state = root / "state.sqlite" if root else None
        store = Store(state, readonly=True) if state and state.exists() else Store(Path(":memory:"))
        try:
            planned = plan_file(store.conn, checked, args.file.name, args.source, settings, date.today())
        finally:
            store.close()
    if isinstance(planned, Rejected):
        _say(planned.report.as_text())
        return EXIT_QUARANTINED
    _say(f"{args.file.name}: ошибок нет; строк: {planned.rows}, пропущено без изменений: {planned.skipped}")
    return EXIT_OK


def shipped_settings() -> Settings:
    """The settings `billdrop init` writes: what `check` uses without a workspace."""
    return load_settings(builtin_dir("templates"), name="billdrop.toml")


def _remind(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    remind_once(ws, load_settings(ws.root))
    return EXIT_OK


def _backup(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    target = args.to or daily_path(ws, date.today())
    backup_workspace(ws, target)
    _say(f"копия базы: {target}")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    load_settings(ws.root)
    store = Store(ws.state_path)
    try:
        status = collect_status(ws, store, date.today())
    finally:
        store.close()
    _say(status_json(status) if args.json else format_status(status))
    return EXIT_OK


def _retry(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    settings = load_settings(ws.root)
    if args.mail is not None:
        return _retry_mail(ws, settings, args.mail)
    if bool(args.file) == args.all:
        raise ConfigError("retry: укажите файл из карантина, --all или --mail")
    targets = quarantined(ws, settings) if args.all else [find_quarantined(ws, settings, args.file)]
    outcomes = retry_files(ws, settings, targets)
    for (_, path), outcome in zip(targets, outcomes, strict=False):
        _say(f"{ws.relative(path)}: {_RETRY_OUTCOMES[type(outcome).__name__]}")
    return EXIT_QUARANTINED if any(isinstance(o, Quarantined | Failed | Stuck) for o in outcomes) else EXIT_OK


def _retry_mail(ws: Workspace, settings: Settings, job_ids: list[int]) -> int:
    requeued, counts = retry_mail(ws, settings, job_ids or None)
    unknown = sorted(set(job_ids) - set(requeued))
    if unknown:
        _say(f"нет писем с ошибкой под номерами: {', '.join(map(str, unknown))}")
    done = ", ".join(f"{_FLUSH_WORDS[key]}: {count}" for key, count in counts.items() if count)
    _say(f"снова в очереди: {len(requeued)}" + (f"; {done}" if done else ""))
    return EXIT_QUARANTINED if counts.get("failed") or unknown else EXIT_OK


_FLUSH_WORDS = {
    "sent": "отправлено по SMTP", "written": "записано в mail/ (.eml)", "retry": "ждут повтора",
    "failed": "снова с ошибкой", "postponed": "отложены (SMTP-сервер недоступен)",
}
_RETRY_OUTCOMES = {
    "Accepted": "принят", "Duplicate": "уже был принят, в архиве", "Quarantined": "снова в карантине",
    "Failed": "принят, но выпуск не удался; повторится сам", "Waiting": "ждёт повтора",
    "Stuck": "выпуск снова не удался; файл остановлен (billdrop status)",
}


def _cancel(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    kind = DocumentKind(args.kind) if args.kind else None
    result = cancel_document(ws, load_settings(ws.root), args.number, kind, args.reason)
    if isinstance(result, Refused):
        raise ConfigError(f"cancel: {result.reason}")
    _say(f"{KIND_NAMES[result.kind]} № {result.number} от {result.date:%d.%m.%Y}: {result.mark}")
    return EXIT_OK


def _mail_test(args: argparse.Namespace) -> int:
    """One mail through the configured transport, reported with where it went; nothing is queued."""
    ws = Workspace(args.workspace.resolve())
    settings = load_settings(ws.root)
    transport = mail_transport(ws, settings)
    message = compose(
        settings.mail.sender, [args.address], "billdrop: проверка почты",
        f"Это тестовое письмо billdrop из рабочей папки {ws.root}.\n"
        "Раз оно дошло, счета, акты и уведомления дойдут тем же путём.\n",
        (), None,
    )
    try:
        message_id = transport.send(message)
    except MailError as exc:
        _fail(f"письмо для {args.address} не отправлено: {exc.reason}")
        return EXIT_QUARANTINED
    smtp = settings.mail.smtp
    where = (f"передано серверу SMTP {smtp.host}:{smtp.port}" if smtp else
             f"записано в {ws.relative(mail_file(ws.mail_dir, message_id))} (SMTP не настроен: "
             "раздел [mail.smtp] в billdrop.toml)")
    _say(f"тестовое письмо для {args.address} {where}; Message-ID {message_id}")
    return EXIT_OK


def _install_service(args: argparse.Namespace) -> int:
    executable = _executable()
    written = install_service(args.root, args.workspace, executable)
    ws = init_workspace(args.root / args.workspace.relative_to("/"))
    run_as = f"runuser -u {SERVICE_USER} -- {executable}"
    _say("\n".join([
        "установлено: " + ", ".join(str(path) for path in written),
        f"пользователь {SERVICE_USER} и его рабочая папка {ws.root} готовы. Дальше:",
        (f"  1. заполните {ws.config_path}: реквизиты, [mail.smtp]; пароль SMTP — строка "
         "BILLDROP_SMTP_PASSWORD=… в /etc/billdrop/secrets.env (chmod 600)"),
        f"  2. проверьте почту: {run_as} mail-test ВАШ@АДРЕС -w {args.workspace}",
        "  3. systemctl daemon-reload && systemctl enable --now billdrop; журнал: journalctl -u billdrop",
    ]))
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    ws = init_workspace(args.dir)
    code = run_demo(ws)
    billdrop = _invocation()
    _say(demo_summary(ws, args.dir))
    venv = Path(sys.prefix)
    activate = venv / "bin" / "activate"
    hint = f" (или . {os.path.relpath(activate)}, затем просто billdrop)" if (
        billdrop != "billdrop" and activate.exists()) else ""
    _say(f"Дальше: {billdrop} status -w {args.dir}, {billdrop} --help{hint}")
    return code


COMMANDS = {
    "init": _init, "run": _run, "process": _process, "check": _check, "remind": _remind, "status": _status,
    "backup": _backup,
    "demo": _demo, "retry": _retry, "cancel": _cancel, "mail-test": _mail_test,
    "install-service": _install_service,
}
