"""OSIA UIN generation: random digits from the CSPRNG with a Verhoeff check digit.

OSIA UIN interface v1.2.0 (``uin.yaml``, ``generateUIN``; osia-notes.md §9.2) returns a new UIN as a JSON string
of digits (example ``"1235567890"``) and leaves the format to the implementation. idbb draws ``length - 1`` digits
from :mod:`secrets`, appends a Verhoeff check digit (which catches every single-digit error and every adjacent
transposition) and redraws numbers that are easy to mistype or guess: a leading zero (lost by spreadsheets), long
runs of one digit, long ascending or descending sequences, palindromes. The number carries no personal data, so it
is not derived from the request attributes. Never reusing a UIN is the caller's job (a unique database column).
"""

import secrets
from collections.abc import Callable

from app.formats.errors import FormatError

MIN_LENGTH = 6
MAX_LENGTH = 32

# Verhoeff (1969): multiplication table of the dihedral group D5, position permutation, inverses.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def _is_digits(value: object) -> bool:
    """True for a non-empty string of ASCII digits only (``str.isdigit`` alone also accepts "²" or "٣")."""
    return isinstance(value, str) and value != "" and value.isascii() and value.isdigit()


def _checksum(digits: str, offset: int) -> int:
    check = 0
    for position, char in enumerate(reversed(digits)):
        check = _D[check][_P[(position + offset) % 8][ord(char) - 48]]
    return check


def verhoeff_check_digit(digits: str) -> str:
    """The Verhoeff check digit to append to ``digits`` (e.g. ``"236"`` -> ``"3"``)."""
    if not _is_digits(digits):
        raise FormatError("Verhoeff input must be a non-empty string of ASCII digits")
    return str(_INV[_checksum(digits, 1)])


def verhoeff_valid(number: str) -> bool:
    """True when the last digit of ``number`` is its correct Verhoeff check digit."""
    if not _is_digits(number) or len(number) < 2:
        return False
    return _checksum(number, 0) == 0


def _longest_run(uin: str) -> int:
    longest = current = 1
    for previous, char in zip(uin, uin[1:], strict=False):
        current = current + 1 if char == previous else 1
        longest = max(longest, current)
    return longest


def _longest_sequence(uin: str) -> int:
    """Length of the longest run of digits stepping by +1 (1234) or by -1 (9876); no wrap from 9 to 0."""
    longest = ascending = descending = 1
    for previous, char in zip(uin, uin[1:], strict=False):
        step = ord(char) - ord(previous)
        ascending = ascending + 1 if step == 1 else 1
        descending = descending + 1 if step == -1 else 1
        longest = max(longest, ascending, descending)
    return longest


def acceptable(uin: str, *, max_run: int = 2, max_sequence: int = 3) -> bool:
    """True when ``uin`` is digits only, has no leading zero, no digit repeated more than ``max_run`` times in a
    row, no ascending/descending sequence longer than ``max_sequence``, and is not a palindrome.

    The check digit is part of ``uin`` and is checked like any other digit.
    """
    if not _is_digits(uin):
        return False
    if uin[0] == "0":
        return False
    if _longest_run(uin) > max_run:
        return False
    if _longest_sequence(uin) > max_sequence:
        return False
    return uin != uin[::-1]


def generate_uin(
    length: int = 10,
    *,
    randbelow: Callable[[int], int] = secrets.randbelow,
    max_run: int = 2,
    max_sequence: int = 3,
    max_attempts: int = 1000,
) -> str:
    """A fresh UIN of ``length`` digits: ``length - 1`` CSPRNG digits plus a Verhoeff check digit, redrawn until
    :func:`acceptable`. ``randbelow`` is injectable for tests only; production keeps :func:`secrets.randbelow`.
    """
    if isinstance(length, bool) or not isinstance(length, int) or not MIN_LENGTH <= length <= MAX_LENGTH:
        raise FormatError(f"UIN length must be between {MIN_LENGTH} and {MAX_LENGTH}")
    if max_run < 1 or max_sequence < 1 or max_attempts < 1:
        raise FormatError("UIN acceptability limits must be positive")
    for _ in range(max_attempts):
        body = "".join(str(_digit(randbelow)) for _ in range(length - 1))
        uin = body + verhoeff_check_digit(body)
        if acceptable(uin, max_run=max_run, max_sequence=max_sequence):
            return uin
    raise FormatError("no acceptable UIN found within the attempt limit")


def _digit(randbelow: Callable[[int], int]) -> int:
    value = randbelow(10)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise FormatError("random source returned a value outside 0..9")
    return value
