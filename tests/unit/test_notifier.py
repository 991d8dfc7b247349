"""app/services/notifier.py: OTP delivery over real SMTP (an aiosmtpd server on 127.0.0.1), the dev
outbox, the null channel, channel selection from Settings, and address masking."""

import email
import email.policy
import logging
import socket
import threading
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from app.config import ConfigError, Settings
from app.services.notifier import (
    DeliveryError,
    Notifier,
    NullNotifier,
    OutboxNotifier,
    SmtpNotifier,
    from_settings,
    mask,
)

ADDRESS = "amina.diallo@example.org"
BODY = "Your idbb sign-in code is 493817. It expires in 3 minutes."
SENDER = "idbb <no-reply@idbb.test>"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    """aiosmtpd handler keeping every envelope; refuses recipients listed in ``refuse``."""

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.envelopes: list = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class Authenticator:
    def __init__(self, login: str, password: str) -> None:
        self.expected = (login.encode(), password.encode())
        self.seen: list[tuple[str, bytes]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.seen.append((mechanism, auth_data.login))
        # handled=False: aiosmtpd then answers 535 itself (True would leave the client waiting)
        return AuthResult(success=(auth_data.login, auth_data.password) == self.expected, handled=False)


def start_server(handler: Collector, **kwargs) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Collector]]:
    handler = Collector(refuse=("nobody@example.org",))
    controller = start_server(handler)
    yield controller, handler
    controller.stop()


def notifier_for(controller: Controller, **kwargs) -> SmtpNotifier:
    return SmtpNotifier(controller.hostname, controller.port, sender=SENDER, timeout=5.0, **kwargs)


def parsed(envelope) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.content, policy=email.policy.default)


def assert_no_personal_data(exc: BaseException, *secrets: str) -> None:
    for secret in (ADDRESS, BODY, "493817", *secrets):
        assert secret not in str(exc)
        assert secret not in repr(exc)


# --- SMTP ---------------------------------------------------------------------------------------


def test_smtp_delivers_a_message_with_from_to_subject_and_body(smtp_server):
    controller, handler = smtp_server
    notifier = notifier_for(controller)
    assert isinstance(notifier, Notifier)
    assert notifier.channels() == ("email",)

    notifier.send("email", ADDRESS, "Your sign-in code", BODY)

    assert len(handler.envelopes) == 1
    envelope = handler.envelopes[0]
    assert envelope.mail_from == "no-reply@idbb.test"
    assert envelope.rcpt_tos == [ADDRESS]
    message = parsed(envelope)
    assert message["From"] == SENDER
    assert message["To"] == ADDRESS
    assert message["Subject"] == "Your sign-in code"
    assert message["Date"] and message["Message-ID"].endswith("@idbb.test>")
    assert message.get_content_type() == "text/plain"
    assert message.get_content().strip() == BODY


def test_smtp_carries_non_ascii_subject_and_body(smtp_server):
    controller, handler = smtp_server
    notifier_for(controller).send("email", ADDRESS, "Votre code de connexion — رمز", "Code : 493817 — صالح 3 دقائق")
    message = parsed(handler.envelopes[0])
    assert message["Subject"] == "Votre code de connexion — رمز"
    assert message.get_content().strip() == "Code : 493817 — صالح 3 دقائق"


def test_smtp_refused_connection_raises_delivery_error_without_the_address():
    notifier = SmtpNotifier("127.0.0.1", free_port(), sender=SENDER, timeout=5.0)  # nothing listens there
    with pytest.raises(DeliveryError) as caught:
        notifier.send("email", ADDRESS, "Your sign-in code", BODY)
    assert "ConnectionRefusedError" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert_no_personal_data(caught.value)


def test_smtp_refused_recipient_raises_delivery_error_without_the_address(smtp_server, caplog):
    controller, handler = smtp_server
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as caught:
        notifier_for(controller).send("email", "nobody@example.org", "Your sign-in code", BODY)
    assert "550" in str(caught.value)
    assert_no_personal_data(caught.value, "nobody@example.org", "nobody")
    assert handler.envelopes == []
    idbb_lines = [r.getMessage() for r in caplog.records if r.name.startswith("idbb")]
    assert idbb_lines  # the operator sees that delivery failed ...
    assert not [line for line in idbb_lines if "nobody" in line or "493817" in line]  # ... but not to whom


def test_smtp_header_injection_is_refused_before_connecting():
    notifier = SmtpNotifier("127.0.0.1", free_port(), sender=SENDER)
    with pytest.raises(DeliveryError) as caught:
        notifier.send("email", ADDRESS, "code\r\nBcc: attacker@example.net", BODY)
    assert "could not be built" in str(caught.value)
    assert_no_personal_data(caught.value, "attacker@example.net")


def test_smtp_cannot_reach_phones(smtp_server):
    controller, handler = smtp_server
    with pytest.raises(DeliveryError):
        notifier_for(controller).send("phone", "+15550000001", "code", BODY)
    assert handler.envelopes == []


def test_smtp_starttls_against_a_server_without_it_fails_closed(smtp_server):
    controller, handler = smtp_server
    with pytest.raises(DeliveryError) as caught:
        notifier_for(controller, starttls=True).send("email", ADDRESS, "Your sign-in code", BODY)
    assert "SMTPNotSupportedError" in str(caught.value)
    assert handler.envelopes == []  # never falls back to plain text


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # plain AUTH on loopback only
def test_smtp_authenticates_when_a_username_is_set():
    handler = Collector()
    authenticator = Authenticator("idbb", "s3cret-pass")
    controller = start_server(handler, auth_require_tls=False, auth_required=True, authenticator=authenticator)
    try:
        notifier_for(controller, username="idbb", password="s3cret-pass").send("email", ADDRESS, "code", BODY)
        assert [login for _, login in authenticator.seen] == [b"idbb"]
        assert len(handler.envelopes) == 1

        with pytest.raises(DeliveryError) as caught:
            notifier_for(controller, username="idbb", password="wrong-pass").send("email", ADDRESS, "code", BODY)
        assert "SMTPAuthenticationError" in str(caught.value)
        assert_no_personal_data(caught.value, "wrong-pass")

        with pytest.raises(DeliveryError) as caught:  # no username: the server insists on AUTH
            notifier_for(controller).send("email", ADDRESS, "code", BODY)
        assert "530" in str(caught.value)
        assert len(handler.envelopes) == 1
    finally:
        controller.stop()


def test_smtp_repr_hides_the_password():
    notifier = SmtpNotifier("mail.example.org", 587, username="idbb", password="s3cret-pass", sender=SENDER)
    assert "s3cret-pass" not in repr(notifier)


def test_smtp_rejects_a_non_positive_timeout():
    with pytest.raises(ValueError):
        SmtpNotifier("127.0.0.1", 25, sender=SENDER, timeout=0)


# --- dev outbox and null ---------------------------------------------------------------------------


def test_outbox_keeps_and_logs_messages(caplog):
    outbox = OutboxNotifier()
    assert isinstance(outbox, Notifier)
    assert outbox.channels() == ("email", "phone")
    with caplog.at_level(logging.INFO, logger="idbb.dev_outbox"):
        outbox.send("email", ADDRESS, "Your sign-in code", BODY)
        outbox.send("phone", "+15550000001", "Your sign-in code", "Code 271828")

    assert outbox.messages() == [
        {"channel": "email", "address": ADDRESS, "subject": "Your sign-in code", "body": BODY},
        {"channel": "phone", "address": "+15550000001", "subject": "Your sign-in code", "body": "Code 271828"},
    ]
    records = [r for r in caplog.records if r.name == "idbb.dev_outbox"]
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO]
    assert "493817" in records[0].getMessage() and ADDRESS in records[0].getMessage()
    assert "271828" in records[1].getMessage()


def test_outbox_messages_are_copies_and_clear_empties_it():
    outbox = OutboxNotifier()
    outbox.send("email", ADDRESS, "s", "b")
    outbox.messages()[0]["body"] = "tampered"
    assert outbox.messages()[0]["body"] == "b"
    outbox.clear()
    assert outbox.messages() == []


def test_outbox_keeps_only_the_last_hundred_and_is_thread_safe():
    outbox = OutboxNotifier()

    def burst(worker: int) -> None:
        for i in range(50):
            outbox.send("phone", f"+1555000{worker:04d}", "s", f"{worker}:{i}")

    threads = [threading.Thread(target=burst, args=(w,)) for w in range(8)]
    logging.getLogger("idbb.dev_outbox").disabled = True
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        logging.getLogger("idbb.dev_outbox").disabled = False
    kept = outbox.messages()
    assert len(kept) == 100
    outbox.send("email", ADDRESS, "s", "newest")
    assert len(outbox.messages()) == 100
    assert outbox.messages()[-1]["body"] == "newest"
    assert outbox.messages()[0] == kept[1]


def test_outbox_refuses_an_unknown_channel():
    with pytest.raises(DeliveryError):
        OutboxNotifier().send("pigeon", ADDRESS, "s", BODY)


def test_null_notifier_reaches_nothing():
    null = NullNotifier()
    assert isinstance(null, Notifier)
    assert null.channels() == ()
    with pytest.raises(DeliveryError) as caught:
        null.send("email", ADDRESS, "Your sign-in code", BODY)
    assert "IDBB_NOTIFIER" in str(caught.value)
    assert_no_personal_data(caught.value)


# --- from_settings ---------------------------------------------------------------------------------


def test_from_settings_picks_each_notifier():
    assert isinstance(from_settings(Settings(profile="development", notifier="outbox")), OutboxNotifier)
    assert isinstance(from_settings(Settings(profile="development")), NullNotifier)
    assert isinstance(from_settings(Settings(profile="production", notifier="none")), NullNotifier)

    smtp = from_settings(
        Settings(
            notifier="smtp",
            smtp_host="mail.example.org",
            smtp_port=587,
            smtp_username="idbb",
            smtp_password="pw",
            smtp_starttls=True,
            smtp_from="no-reply@example.org",
        )
    )
    assert isinstance(smtp, SmtpNotifier)
    assert (smtp.host, smtp.port, smtp.username, smtp.password, smtp.starttls, smtp.sender) == (
        "mail.example.org",
        587,
        "idbb",
        "pw",
        True,
        "no-reply@example.org",
    )


def test_from_settings_smtp_defaults_do_not_log_in():
    smtp = from_settings(Settings(notifier="smtp"))
    assert isinstance(smtp, SmtpNotifier)
    assert (smtp.host, smtp.port, smtp.username, smtp.starttls, smtp.sender) == (
        "127.0.0.1",
        25,
        None,
        False,
        "idbb@localhost",
    )


def test_from_settings_smtp_delivers_through_a_real_server(smtp_server):
    controller, handler = smtp_server
    notifier = from_settings(
        Settings(notifier="smtp", smtp_host=controller.hostname, smtp_port=controller.port, smtp_from="no-reply@idbb.test")
    )
    notifier.send("email", ADDRESS, "Your sign-in code", BODY)
    assert handler.envelopes[0].rcpt_tos == [ADDRESS]


def test_from_settings_refuses_the_outbox_in_production_and_unknown_names():
    with pytest.raises(ConfigError, match="IDBB_NOTIFIER"):
        from_settings(Settings(profile="production", notifier="outbox"))
    with pytest.raises(ConfigError, match="IDBB_NOTIFIER"):
        from_settings(Settings(profile="development", notifier="carrier-pigeon"))


# --- mask --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("amina.diallo@example.org", "a***@example.org"),
        ("  Amina@Example.ORG ", "A***@Example.ORG"),
        ("ab@example.org", "a***@example.org"),
        ("a@example.org", "***@example.org"),  # a one-letter local part is not shown at all
        ("@example.org", "***@example.org"),
        ("weird@name@example.org", "w***@example.org"),
        ("amina@", "***"),
        ("+15550000001", "*******0001"),
        ("+1 (555) 000-0001", "*******0001"),
        ("+237 6 71 23 45 67", "********4567"),
        ("12345678", "****5678"),
        ("1234567", "*******"),  # too short: the last four would be most of it
        ("0001", "****"),
        ("", "***"),
        ("   ", "***"),
        ("not an address", "***"),
    ],
)
def test_mask(address, masked):
    assert mask(address) == masked


def test_mask_never_echoes_short_input():
    for address in ("1", "12", "x@y", "a@b.c"):
        assert mask(address) != address
