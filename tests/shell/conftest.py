"""Shell fixtures: a real SMTP server (aiosmtpd) on loopback that records what it accepts."""
from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.workspaces import make_workspace, start_daemon

SMTP_USER = "billdrop"
SMTP_PASSWORD = "секрет-123"  # non-ASCII on purpose: AUTH must carry UTF-8


@dataclass(frozen=True)
class Delivery:
    """One accepted mail: the SMTP envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


class _Handler:
    """aiosmtpd hooks: refuse configured recipients, record every accepted mail."""

    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(  # noqa: N802 -- aiosmtpd looks hooks up by these names
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self._server.refusals.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 -- as above
        raw = envelope.original_content or envelope.content
        message = BytesParser(policy=policy.default).parsebytes(raw)
        self._server.deliveries.append(Delivery(envelope.mail_from, tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A loopback SMTP relay without TLS; AUTH is offered (any of `users`) but not required."""

    username = SMTP_USER
    password = SMTP_PASSWORD

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port(self.host)
        self.deliveries: list[Delivery] = []
        self.refusals: dict[str, str] = {}
        self.users = {SMTP_USER: SMTP_PASSWORD}
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return [delivery.message for delivery in self.deliveries]

    def refuse(self, address: str, reply: str = "550 5.1.1 No such user") -> None:
        """Answer RCPT TO:<address> with `reply` (a 4xx reply makes it a temporary refusal)."""
        self.refusals[address] = reply

    def start(self) -> None:
        """Listen on the same port again (an aiosmtpd controller cannot be restarted, so make a new one)."""
        if self._controller is not None:
            return
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            ready_timeout=30.0,  # a loaded CI machine can be slow to start the thread
            authenticator=self._authenticate,
            auth_require_tls=False,
        )
        self._controller.start()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.users.get(auth_data.login.decode()) == (
            auth_data.password.decode()
        )
        return AuthResult(success=ok, handled=False)

    def stop(self) -> None:
        """Close the listening socket: connections are refused until `start()`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running loopback SMTP server; `.stop()`/`.start()` simulate the relay going down and back."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def running(tmp_path, smtp_server):
    """A workspace and a `billdrop run` process mailing to the loopback SMTP server."""
    ws = make_workspace(tmp_path / "ws", smtp_port=smtp_server.port)
    proc = start_daemon(ws, tmp_path / "daemon.log")
    yield ws, proc, tmp_path / "daemon.log"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
