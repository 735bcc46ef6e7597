"""Mail composing and transports: SMTP, or .eml files in a folder (shell); the queue is mail_queue.py."""
from __future__ import annotations

import base64
import re
import smtplib
import ssl
from collections.abc import Sequence
from email import policy
from email.header import Header
from email.headerregistry import (
    Address,
    BaseHeader,
    HeaderRegistry,
    UniqueAddressHeader,
    UniqueUnstructuredHeader,
)
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Literal, Protocol, cast

from daemon.inbox import safe_name
from daemon.workspace import write_atomic

RETRY_CAP_S = 3600.0
SMTP_TIMEOUT_S = 15.0   # per socket operation: connecting, the greeting, every reply
RFC2047_LINE = 76      # the longest header line holding an encoded word (RFC 2047 §2)

Security = Literal["starttls", "ssl", "none"]
# What a delivered job becomes: handed to an SMTP relay, or only written as an .eml file.
Delivery = Literal["sent", "written"]


class Transport(Protocol):
    """Anything that delivers a message and returns its Message-ID, raising MailError on failure."""

    delivery: Delivery

    def send(self, message: EmailMessage) -> str: ...


class MailError(Exception):
    """A send failed, the reason in Russian for `status`.

    `permanent` ones (5xx, recipient refused) must not be retried, the others may be. `relay` ones
    (connecting, TLS, login, a dropped or silent connection, an unwritable folder) are not this mail's:
    the next mail would fail alike, so the queue postpones the rest instead of trying each."""

    def __init__(self, reason: str, permanent: bool, *, relay: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.relay = relay


# Characters that end or break a line of text (C0 and C1 controls, DEL, the Unicode line separators).
CONTROL_CHARACTER = r"[\x00-\x1f\x7f-\x9f\u2028\u2029]"
_CONTROLS = re.compile(CONTROL_CHARACTER + "+")


def header_text(text: str) -> str:
    """`text` fit for a header: each run of control characters (CR, LF, tab, NUL…) or line separators
    becomes one space, so no text can end a header and start another («a\\r\\nBcc: x@evil»)."""
    return _CONTROLS.sub(" ", text)


class _EncodedWordsFold:
    """Folds non-ASCII text as whole RFC 2047 encoded words, the spaces inside them.

    The standard folder (Python 3.11 at least) can break a line at a space between two encoded words, and
    decoders drop whitespace between encoded words: «акт оказания услуг» arrived as «акт оказанияуслуг».
    """

    def fold(self, *, policy: Policy) -> str:
        text = str(self)
        if text.isascii():
            folded: str = super().fold(policy=policy)  # type: ignore[misc]
            return folded
        name = str(getattr(self, "name"))  # noqa: B009 -- set by BaseHeader, the class this one precedes
        return f"{name}: {self._encoded(name, policy.linesep)}{policy.linesep}"

    def _encoded(self, name: str, linesep: str) -> str:
        return _encoded_words(str(self), name, linesep)


class _EncodedAddressFold(_EncodedWordsFold):
    """An address header: each display name as encoded words, then its address, one address a line."""

    def _encoded(self, name: str, linesep: str) -> str:
        addresses: tuple[Address, ...] = getattr(self, "addresses")  # noqa: B009 -- as `name` above
        return f",{linesep} ".join(_address(address, name if i == 0 else "", linesep)
                                   for i, address in enumerate(addresses))


def _encoded_words(text: str, name: str, linesep: str) -> str:
    """`text` as encoded words in lines of at most RFC2047_LINE characters, the first after `name: `."""
    header = Header(text, "utf-8", maxlinelen=RFC2047_LINE - 2, header_name=name or None)
    return header.encode(linesep=linesep)


def _address(address: Address, name: str, linesep: str) -> str:
    if address.display_name.isascii():
        return str(address)
    words = _encoded_words(address.display_name, name, linesep)
    angle = f"<{address.addr_spec}>"
    fits = len(words.rpartition(linesep)[2]) + len(angle) < RFC2047_LINE
    return f"{words} {angle}" if fits else f"{words}{linesep} {angle}"


class _Subject(_EncodedWordsFold, UniqueUnstructuredHeader):
    pass


class _Addresses(_EncodedAddressFold, UniqueAddressHeader):
    pass


def _header_registry() -> HeaderRegistry:
    """The standard classes but these two; the registry adds BaseHeader to each (typeshed wants it now)."""
    registry = HeaderRegistry()
    registry.map_to_type("subject", cast(type[BaseHeader], _Subject))
    for name in ("from", "to", "reply-to"):
        registry.map_to_type(name, cast(type[BaseHeader], _Addresses))
    return registry


# CRLF as on the wire; both transports write a message with its own policy.
MAIL_POLICY = policy.SMTP.clone(header_factory=_header_registry())


def compose(
    sender: str,
    to: list[str],
    subject: str,
    body_text: str,
    attachments: Sequence[tuple[str, bytes, str]],
    message_id: str | None,
    reply_to: str | None = None,
) -> EmailMessage:
    """A UTF-8 mail with (filename, bytes, MIME type) attachments; a bare subtype ("pdf") means application/.

    Headers are built from `header_text` only; Cyrillic ones are RFC 2047 encoded words, attachment
    names RFC 2231 parameters; the name is repeated in Content-Type for clients that read only that one.
    """
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = header_text(sender)
    message["To"] = ", ".join(header_text(address) for address in to)
    message["Subject"] = header_text(subject)
    if reply_to:
        message["Reply-To"] = header_text(reply_to)
    if message_id:
        message["Message-ID"] = message_id
    # quoted-printable keeps every line 7-bit: no relay needs 8BITMIME for Cyrillic text
    message.set_content(body_text, cte="quoted-printable")
    for name, data, mime_type in attachments:
        filename = header_text(name)
        maintype, _, subtype = mime_type.rpartition("/")
        message.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype,
            filename=filename,
            params={"name": filename},
        )
    return message


def retry_delay_s(attempt: int, base_s: float = 60.0) -> float:
    """Seconds to wait after the `attempt`-th failed send (1-based): 60, 120, 240, … capped at one hour."""
    exponent = min(max(attempt, 1) - 1, 16)  # bounded so 2**n stays small; the cap applies long before
    return min(base_s * 2.0**exponent, RETRY_CAP_S)


def _ensure_headers(message: EmailMessage) -> str:
    """Add Message-ID and Date when missing; returns the Message-ID."""
    if message["Message-ID"] is None:
        # the sender's domain, not socket.getfqdn(): that can block on DNS and names an internal host
        domain = parseaddr(str(message["From"] or ""))[1].rpartition("@")[2] or "billdrop.localhost"
        message["Message-ID"] = make_msgid(domain=domain)
    if message["Date"] is None:
        message["Date"] = formatdate(localtime=True)
    return str(message["Message-ID"])


class SmtpTransport:
    """Sends through an SMTP relay; one connection per message (mail volume is small).

    `timeout_s` bounds each socket operation (connecting, the greeting, every reply), so a relay that
    accepts and then stays silent costs seconds."""

    delivery: Delivery = "sent"

    def __init__(
        self,
        host: str,
        port: int,
        security: Security,
        username: str | None,
        password: str | None,
        timeout_s: float = SMTP_TIMEOUT_S,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout_s = timeout_s

    def send(self, message: EmailMessage) -> str:
        """Send `message`; returns its Message-ID or raises MailError."""
        message_id = _ensure_headers(message)
        relay = f"SMTP-сервер {self.host}:{self.port}"
        try:
            client = self._connect()
        except OSError as error:  # smtplib's exceptions are OSErrors too
            # connecting, greeting, STARTTLS or login: the relay or our settings for it, never this
            # message; even a 5xx here (a wrong password's 535) is worth retrying once the admin fixes it
            raise MailError(f"{relay}: {_explain(error)}", permanent=False, relay=True) from error
        try:
            refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise MailError(
                f"адресаты отклонены: {_describe_refused(error.recipients)}",
                permanent=all(code >= 500 for code in codes),
            ) from error
        except smtplib.SMTPNotSupportedError as error:  # a non-ASCII address, a relay without SMTPUTF8
            raise MailError(f"{relay} не принимает это письмо: {error}", permanent=True) from error
        except smtplib.SMTPResponseException as error:  # sender or data refused, or 421: closing down
            closing = error.smtp_code == 421
            raise MailError(f"{relay} отказал: {_explain(error)}", permanent=error.smtp_code >= 500,
                            relay=closing) from error
        except OSError as error:  # connection dropped or timed out mid-transaction
            raise MailError(f"{relay}: {_explain(error)}", permanent=False, relay=True) from error
        finally:
            _close(client)
        if refused:
            # some recipients got it: a retry would mail them twice, so this failure is final
            raise MailError(f"доставлено остальным, отклонены: {_describe_refused(refused)}", permanent=True)
        return message_id

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        try:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username:
                _login(client, self.username, self.password or "")
        except Exception:
            _close(client)
            raise
        return client


def _login(client: smtplib.SMTP, username: str, password: str) -> None:
    if f"{username}{password}".isascii():
        client.login(username, password)  # negotiates CRAM-MD5, PLAIN or LOGIN
        return
    # smtplib encodes credentials as ASCII and raises UnicodeEncodeError on a Cyrillic password;
    # SASL PLAIN carries UTF-8 (RFC 4616), so send that one by hand
    client.ehlo_or_helo_if_needed()
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, reply = client.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _close(client: smtplib.SMTP) -> None:
    """QUIT politely; a relay that drops the line after accepting the data has still accepted it."""
    try:
        client.quit()
    except OSError:
        client.close()


def _describe_refused(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{address} ({code} {_text(reply)})" for address, (code, reply) in refused.items())


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _explain(error: OSError) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    # smtplib reports a reply that timed out as a disconnection, the timeout as its context
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
        return "нет ответа (тайм-аут)"
    if isinstance(error, ConnectionRefusedError):
        return "соединение отклонено"
    if isinstance(error, smtplib.SMTPServerDisconnected | ConnectionResetError):
        return f"соединение прервано ({error})"
    return repr(error)


class EmlFolderTransport:
    """Writes each message as `<Message-ID>.eml` into a folder: the default when no relay is configured.

    Nothing is sent: the mails are «записано в mail/ (.eml)» in the log and `status`, for a person to send."""

    delivery: Delivery = "written"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> str:
        """Write `message` atomically (temp file, then rename); returns its Message-ID or raises MailError."""
        message_id = _ensure_headers(message)
        path = mail_file(self.folder, message_id)
        try:
            # CRLF as on the wire (MAIL_POLICY); mail clients open such files directly. Same Message-ID,
            # same file: a re-send after a crash overwrites it with the same mail.
            write_atomic(path, message.as_bytes())
        except OSError as error:  # disk full or read-only: every mail would fail alike; retried later
            raise MailError(f"не удаётся записать {path}: {error!r}", permanent=False, relay=True) from error
        return message_id


def mail_file(folder: Path, message_id: str) -> Path:
    """The .eml file EmlFolderTransport writes a message with this Message-ID to."""
    return folder / f"{safe_name(message_id.strip('<> '))}.eml"
