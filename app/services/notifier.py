"""Delivery of one-time codes (OTP) for the login flow: the notifier channel behind ``IDBB_NOTIFIER``.

The GovStack Identity Building Block specification (§6, authentication with OTP) has the OpenID
Provider send a short-lived code to a contact point already registered for the person, an e-mail
address or a phone number, and check it before issuing the authorization code. Generating, hashing
and rate-limiting the code lives elsewhere; this module only carries a finished message to one
address and reports whether that worked.

Personal data stays out of the logs: an address, a code or a message body is never written to a
log line or put into a :class:`DeliveryError` (callers turn that error into a user-facing "could not
send the code" message and may log it). The one deliberate exception is :class:`OutboxNotifier`,
the development channel of ``idbb demo``, which logs the whole message so a developer can read the
code from the console; ``Settings.validate`` (app/config.py) refuses ``IDBB_NOTIFIER=outbox`` in the
production profile, and :func:`from_settings` refuses it again.

Channels:

* ``smtp`` -- :class:`SmtpNotifier`, e-mail through an SMTP relay (stdlib :mod:`smtplib`).
* ``outbox`` -- :class:`OutboxNotifier`, in-memory and logged, development only.
* ``none`` -- :class:`NullNotifier`, reaches no one: OTP login is unavailable.
"""

import logging
import smtplib
import ssl
import threading
from collections import deque
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Protocol, runtime_checkable

#: Contact kinds a notifier may reach (the ``channel`` argument of :meth:`Notifier.send`).
CHANNELS = ("email", "phone")
#: How many messages :class:`OutboxNotifier` keeps.
OUTBOX_SIZE = 100

log = logging.getLogger("idbb.notifier")
dev_outbox_log = logging.getLogger("idbb.dev_outbox")


class DeliveryError(Exception):
    """A message could not be handed over. Its text never contains the address or the body."""


@runtime_checkable
class Notifier(Protocol):
    """Sends one message to one address over one channel."""

    def channels(self) -> tuple[str, ...]:
        """The contact kinds this notifier can reach, a subset of :data:`CHANNELS`."""
        ...

    def send(self, channel: str, address: str, subject: str, body: str) -> None:
        """Deliver ``body`` to ``address``; raises :class:`DeliveryError` on any failure."""
        ...


class SmtpNotifier:
    """E-mail through an SMTP relay: one connection per message, STARTTLS and AUTH when configured.

    Thread-safe (no shared connection). The relay is trusted to deliver; a message it accepted
    counts as sent.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        sender: str,
        timeout: float = 10.0,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.host = host
        self.port = port
        self.username = username or None
        self.password = password
        self.starttls = starttls
        self.sender = sender
        self.timeout = timeout

    def __repr__(self) -> str:  # no password
        return f"SmtpNotifier({self.host!r}, {self.port!r}, starttls={self.starttls!r}, sender={self.sender!r})"

    def channels(self) -> tuple[str, ...]:
        return ("email",)

    def send(self, channel: str, address: str, subject: str, body: str) -> None:
        if channel != "email":
            raise DeliveryError(f"the SMTP notifier cannot reach the {channel!r} channel")
        try:
            message = self._message(address, subject, body)
        except (ValueError, TypeError, IndexError) as exc:  # e.g. CR/LF in a header (header injection)
            raise DeliveryError(f"message could not be built ({type(exc).__name__})") from None
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            # ``from None``: smtplib's own texts (SMTPRecipientsRefused, server replies) can echo the address
            reason = _reason(exc)
            log.warning("SMTP delivery via %s:%s failed: %s", self.host, self.port, reason)
            raise DeliveryError(f"SMTP delivery failed: {reason}") from None

    def _message(self, address: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)  # explicit domain: no slow getfqdn() lookup
        message.set_content(body)
        return message


def _reason(exc: BaseException) -> str:
    """What went wrong, without server text (which may quote the address): class name and SMTP codes."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in exc.recipients.values()})
        return f"{name} ({', '.join(codes)})" if codes else name
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{name} ({exc.smtp_code})"
    return name


class OutboxNotifier:
    """Development channel (``idbb demo``): keeps the last :data:`OUTBOX_SIZE` messages in memory and
    logs each one, body included, at INFO on ``idbb.dev_outbox`` so the code can be read from the console.

    ``app/config.py`` refuses ``IDBB_NOTIFIER=outbox`` in the production profile: this class puts
    one-time codes and contact addresses into the log on purpose.
    """

    def __init__(self) -> None:
        self._messages: deque[dict[str, str]] = deque(maxlen=OUTBOX_SIZE)
        self._lock = threading.Lock()

    def channels(self) -> tuple[str, ...]:
        return CHANNELS

    def send(self, channel: str, address: str, subject: str, body: str) -> None:
        if channel not in CHANNELS:
            raise DeliveryError(f"the outbox notifier cannot reach the {channel!r} channel")
        entry = {"channel": channel, "address": address, "subject": subject, "body": body}
        with self._lock:
            self._messages.append(entry)
        dev_outbox_log.info("dev outbox (%s to %s) %s: %s", channel, address, subject, body)

    def messages(self) -> list[dict[str, str]]:
        """Copies of the kept messages, oldest first."""
        with self._lock:
            return [dict(entry) for entry in self._messages]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


class NullNotifier:
    """``IDBB_NOTIFIER=none``: reaches no channel, so OTP login is unavailable."""

    def channels(self) -> tuple[str, ...]:
        return ()

    def send(self, channel: str, address: str, subject: str, body: str) -> None:
        raise DeliveryError("no notifier is configured (IDBB_NOTIFIER=none)")


def from_settings(settings: Any) -> Notifier:
    """The notifier ``settings.notifier`` names (an :class:`app.config.Settings`)."""
    from app.config import ConfigError

    kind = settings.notifier
    if kind == "smtp":
        return SmtpNotifier(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            sender=settings.smtp_from,
        )
    if kind == "outbox":
        if settings.profile == "production":
            raise ConfigError("IDBB_NOTIFIER=outbox writes one-time codes to the log: development and sandbox only")
        return OutboxNotifier()
    if kind == "none":
        return NullNotifier()
    raise ConfigError(f"IDBB_NOTIFIER must be one of none, smtp, outbox, not {kind!r}")


def mask(address: str) -> str:
    """An address fit for "we sent a code to ...": ``a***@example.org``, ``*******0001``.

    An e-mail keeps the first character of the local part (only when it has more than one) and the
    domain; a phone number keeps its last four digits (only when at least four more stay hidden), one
    ``*`` per hidden digit. Anything else becomes ``***``: the input is never echoed back unmasked.
    """
    text = address.strip()
    if "@" in text:
        local, _, domain = text.rpartition("@")
        shown = local[0] if len(local) > 1 else ""
        return f"{shown}***@{domain}" if domain else "***"
    digits = [c for c in text if c.isdecimal()]
    if not digits:
        return "***"
    if len(digits) < 8:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + "".join(digits[-4:])
