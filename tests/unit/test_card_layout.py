"""app/services/cards/layout: names in any script the card font covers, read back by pypdf (an independent PDF
reader) and the QR still read by zxing-cpp from a pypdfium2 rendering; Helvetica (Latin-1 only) when the font
file is missing."""

from datetime import UTC, datetime, timedelta

import pytest

from app.formats.card_payload import CardData
from app.services.cards import layout
from tests.card_checks import pdf_text, qr_texts

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf"  # Debian fonts-dejavu-core (.ci/run installs it)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _card(given: str, family: str) -> CardData:
    return CardData(
        issuer="https://idbb.example",
        uin="1234567890",
        card_number="C-1",
        given_name=given,
        family_name=family,
        birthdate="1990-04-12",
        valid_from=NOW,
        valid_until=NOW + timedelta(days=3650),
        issued_at=NOW,
    )


@pytest.mark.parametrize(
    "given,family",
    [("Анна", "Смирнова"), ("أمينة", "ديالو"), ("Ngozi", "Ọkọnkwọ"), ("Zoë", "Łukasiewicz"), ("Νίκος", "Παπαδόπουλος")],
)
def test_names_print_in_their_own_script(given, family):
    pdf = layout.render(_card(given, family), "IDC1:test-payload", photo=None, font=FONT)
    text = pdf_text(pdf)
    assert given in text and family in text and "?" not in text
    assert qr_texts(pdf) == ["IDC1:test-payload"]


def test_without_the_font_file_names_fall_back_to_latin1():
    pdf = layout.render(_card("Анна", "Diallo"), "IDC1:x", photo=None, font="/nonexistent/Font.ttf")
    text = pdf_text(pdf)
    assert "Diallo" in text and "????" in text and "Анна" not in text
