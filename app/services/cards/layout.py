"""The card's PDF: one ID-1 sized page (ISO/IEC 7810, 85.60 x 53.98 mm) with photo, names, UIN, dates, validity
and a QR code holding the signed payload (:mod:`app.formats.card_payload`), drawn with fpdf2.

The QR is drawn module by module as filled rectangles from segno's matrix: a vector QR prints sharp at any
resolution and needs no image library. Text uses a Unicode TrueType font (``IDBB_CARD_FONT``, DejaVu Sans
Condensed by default) with fpdf2's text shaping (uharfbuzz), so names print in Latin, Cyrillic, Greek, Arabic
(joined, right to left) and whatever else the font covers. Without that font file the core Helvetica font is
used and names print in Latin-1, a character outside it as "?" (the QR keeps the exact UTF-8 value either way).
"""

import io
from pathlib import Path

import segno
from fpdf import FPDF

from app.formats.card_payload import CardData, printed_date

WIDTH, HEIGHT = 85.6, 53.98  # mm, ISO/IEC 7810 ID-1
QR_SIZE = 26.0  # mm: a version-10-ish code at ~0.45 mm a module reads at arm's length


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _fonts(pdf: FPDF, font: str | None) -> tuple[str, bool]:
    """(family, unicode): the TrueType ``font`` and its ``-Bold`` sibling when both exist, else Helvetica."""
    regular = Path(font) if font else None
    bold = regular.with_name(f"{regular.stem}-Bold{regular.suffix}") if regular else None
    if regular is None or bold is None or not (regular.is_file() and bold.is_file()):
        return "Helvetica", False
    pdf.add_font("Card", "", str(regular))
    pdf.add_font("Card", "B", str(bold))
    pdf.set_text_shaping(True)  # HarfBuzz: joined scripts (Arabic) in their shapes, right-to-left runs in order
    return "Card", True


def render(
    card: CardData, qr_text: str, *, photo: bytes | None, title: str = "IDENTITY CARD", font: str | None = None
) -> bytes:
    """The card as PDF bytes; ``photo`` is a JPEG or PNG (None: a framed blank where the photo goes); ``font``
    a TrueType file for the text (None or missing: Helvetica, Latin-1 only)."""
    pdf = FPDF(orientation="L", unit="mm", format=(HEIGHT, WIDTH))
    family, unicode = _fonts(pdf, font)
    printable = (lambda text: text) if unicode else _latin1
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.add_page()
    pdf.set_title("Identity card")
    pdf.set_creator("idbb")
    pdf.set_fill_color(20, 60, 120)
    pdf.rect(0, 0, WIDTH, 7, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(family, "B", 8)
    pdf.set_xy(3, 1.5)
    pdf.cell(60, 4, printable(title))
    pdf.set_text_color(0, 0, 0)
    photo_box = (3.0, 9.0, 18.0, 23.0)
    placed = False
    if photo:
        try:
            pdf.image(io.BytesIO(photo), *photo_box)
            placed = True
        except Exception:  # an image fpdf2/Pillow cannot read (JPEG 2000, WSQ) leaves a blank box
            placed = False
    if not placed:
        pdf.rect(*photo_box)
    rows = [
        ("Surname", card.family_name or ""),
        ("Given names", card.given_name or ""),
        ("Date of birth", card.birthdate or ""),
        ("UIN", card.uin),
        ("Card no.", card.card_number),
        ("Issued", printed_date(card.issued_at)),
        ("Valid until", printed_date(card.valid_until)),
    ]
    y = 9.0
    for label, value in rows:
        pdf.set_xy(23, y)
        pdf.set_font(family, "", 4.5)
        pdf.cell(30, 1.8, label)
        pdf.set_xy(23, y + 1.8)
        pdf.set_font(family, "B", 6.5)
        pdf.cell(34, 3, printable(value))
        y += 5.6
    _qr(pdf, qr_text, x=WIDTH - QR_SIZE - 2.5, y=HEIGHT - QR_SIZE - 2.5)
    return bytes(pdf.output())


def _qr(pdf: FPDF, text: str, *, x: float, y: float) -> None:
    code = segno.make_qr(text, error="m")
    matrix = list(code.matrix_iter(border=2))
    module = QR_SIZE / len(matrix)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, QR_SIZE, QR_SIZE, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(matrix):
        column = 0
        while column < len(row):  # type: ignore[arg-type]  # segno types matrix rows as Iterable[int]; they are sized, indexable rows - one rectangle per run of dark modules: smaller PDF, no hairline gaps
            if row[column]:  # type: ignore[index]  # segno types matrix rows as Iterable[int]; they are sized, indexable rows
                start = column
                while column < len(row) and row[column]:  # type: ignore[arg-type,index]  # segno types matrix rows as Iterable[int]; they are sized, indexable rows
                    column += 1
                pdf.rect(x + start * module, y + row_index * module, (column - start) * module, module, style="F")
            else:
                column += 1
