"""A real SMTP server for one-time codes (aiosmtpd), and free loopback ports, shared by the flow tests."""

import email
import email.message
import email.policy
import re
import socket
from typing import Any


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    """aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def last_code(self) -> str:
        assert self.messages, "no mail was received"
        found = re.findall(r"\b(\d{6})\b", self.messages[-1].get_content())
        assert len(found) == 1, self.messages[-1].get_content()
        return found[0]
