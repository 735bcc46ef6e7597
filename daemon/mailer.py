"""Mail composing and transports: SMTP, or .eml files in a folder (shell); the queue is mail_queue.py."""
from __future__ import annotations

import base64
import smtplib
import ssl
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Literal, Protocol

from daemon.inbox import safe_name
from daemon.workspace import write_atomic

RETRY_CAP_S = 3600.0

Security = Literal["starttls", "ssl", "none"]


class Transport(Protocol):
    """Anything that delivers a message and returns its Message-ID, raising MailError on failure."""

    def send(self, message: EmailMessage) -> str: ...


class MailError(Exception):
    """A send failed; `permanent` ones (5xx, recipient refused) must not be retried, the others may be."""

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


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

    Headers with Cyrillic are RFC 2047 encoded words, attachment names RFC 2231 parameters; the
    name is repeated in Content-Type for clients that read only that one.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    if reply_to:
        message["Reply-To"] = reply_to
    if message_id:
        message["Message-ID"] = message_id
    # quoted-printable keeps every line 7-bit: no relay needs 8BITMIME for Cyrillic text
    message.set_content(body_text, cte="quoted-printable")
    for filename, data, mime_type in attachments:
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
    """Sends through an SMTP relay; one connection per message (mail volume is small)."""

    def __init__(
        self,
        host: str,
        port: int,
        security: Security,
        username: str | None,
        password: str | None,
        timeout_s: float = 30,
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
        try:
            client = self._connect()
        except OSError as error:  # smtplib's exceptions are OSErrors too
            # connecting, greeting, STARTTLS or login: the relay or our settings for it, never this
            # message; even a 5xx here (a wrong password's 535) is worth retrying once the admin fixes it
            raise MailError(f"SMTP {self.host}:{self.port}: {_explain(error)}", permanent=False) from error
        try:
            refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise MailError(
                f"all recipients refused: {_describe_refused(error.recipients)}",
                permanent=all(code >= 500 for code in codes),
            ) from error
        except smtplib.SMTPResponseException as error:  # sender or data refused
            raise MailError(f"SMTP {_explain(error)}", permanent=error.smtp_code >= 500) from error
        except OSError as error:  # connection dropped or timed out mid-transaction
            raise MailError(f"SMTP {self.host}:{self.port}: {_explain(error)}", permanent=False) from error
        finally:
            _close(client)
        if refused:
            # some recipients got it: a retry would mail them twice, so this failure is final
            raise MailError(f"delivered to the others, refused: {_describe_refused(refused)}", permanent=True)
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
    return repr(error)


class EmlFolderTransport:
    """Writes each message as `<Message-ID>.eml` into a folder: the default when no relay is configured."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> str:
        """Write `message` atomically (temp file, then rename); returns its Message-ID or raises MailError."""
        message_id = _ensure_headers(message)
        path = mail_file(self.folder, message_id)
        try:
            # CRLF as on the wire; mail clients open such files directly. Same Message-ID, same file:
            # a re-send after a crash overwrites it with the same mail.
            write_atomic(path, message.as_bytes(policy=policy.SMTP))
        except OSError as error:  # disk full or read-only: the queue retries later
            raise MailError(f"cannot write {path}: {error!r}", permanent=False) from error
        return message_id


def mail_file(folder: Path, message_id: str) -> Path:
    """The .eml file EmlFolderTransport writes a message with this Message-ID to."""
    return folder / f"{safe_name(message_id.strip('<> '))}.eml"
