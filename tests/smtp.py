"""
A real SMTP server for the tests, on a free local port: aiosmtpd, with a switch for how it
answers. The portal's mail code talks to it over TCP exactly as it would to a mail relay.
"""

import asyncio
import logging
import socket
import threading
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller

# aiosmtpd logs every SMTP command at INFO; the tests and benchmarks need only its warnings.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    """
    Modes:
    - "accept": takes every email;
    - "refuse-4xx" / "refuse-5xx": refuses the recipient (busy, try later / no such mailbox);
    - "refuse-data-4xx": refuses the email itself with 451 after receiving it;
    - "close-at-data": hangs up while the email is being handed over;
    - "stall-at-data": receives the email, then says nothing for `stall` seconds;
    - "stall-at-rcpt": says nothing for `stall` seconds after the recipient (before any claim);
    - "slow": waits `stall` seconds before answering each command (EHLO, MAIL, RCPT, DATA).
    `down()` stops listening (connections are refused); `up()` listens again on the same port.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.mode = "accept"
        self.stall = 0.0
        self.received: list[Message] = []
        self.attempts = 0  # RCPT commands seen, whatever the answer
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    # aiosmtpd handler hooks ------------------------------------------------------------------
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if self.mode == "slow":
            await asyncio.sleep(self.stall)
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mode == "slow":
            await asyncio.sleep(self.stall)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            self.attempts += 1
        if self.mode in ("stall-at-rcpt", "slow"):
            await asyncio.sleep(self.stall)
        if self.mode == "refuse-4xx":
            return "450 4.2.1 Mailbox busy, try again later"
        if self.mode == "refuse-5xx":
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.mode == "close-at-data":
            server.transport.close()
            return "421 4.3.0 Closing"
        if self.mode == "refuse-data-4xx":
            return "451 4.3.0 Local problem, try again later"
        if self.mode in ("stall-at-data", "slow"):
            await asyncio.sleep(self.stall)
        with self._lock:
            self.received.append(message_from_bytes(envelope.original_content))
        return "250 2.0.0 Accepted"

    # ------------------------------------------------------------------------------------------
    def up(self) -> "SmtpSink":
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def message_ids(self) -> list[str]:
        with self._lock:
            return [message["Message-ID"] for message in self.received]

    def to(self) -> list[str]:
        with self._lock:
            return [message["To"] for message in self.received]


class SilentServer:
    """Accepts connections and never says a word: a mail server that has stalled."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.port = self._socket.getsockname()[1]

    def close(self) -> None:
        self._socket.close()


def mailer_settings(port: int, *, timeout: float = 2) -> dict:
    return {
        "default": {
            "BACKEND": "portal.mail.SMTPBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": timeout},
        }
    }
