"""app/formats/uin: Verhoeff check digits, acceptability rules and UIN generation.

Expected check digits are published vectors (Verhoeff 1969 as reproduced on Wikipedia, Rosetta Code), not values
computed with the code under test.
"""

import random
import secrets

import pytest

from app.formats import FormatError
from app.formats.uin import acceptable, generate_uin, verhoeff_check_digit, verhoeff_valid

# (digits, check digit): Wikipedia "Verhoeff algorithm" (236 -> 2363) and Rosetta Code (12345 -> 1, 123456789012 -> 0)
VECTORS = [("236", "3"), ("12345", "1"), ("142857", "0"), ("123456789012", "0")]


@pytest.mark.parametrize(("digits", "check"), VECTORS)
def test_verhoeff_published_vectors(digits, check):
    assert verhoeff_check_digit(digits) == check
    assert verhoeff_valid(digits + check)


@pytest.mark.parametrize(("digits", "check"), VECTORS)
def test_verhoeff_every_other_check_digit_is_invalid(digits, check):
    for other in "0123456789":
        if other != check:
            assert not verhoeff_valid(digits + other)


def test_verhoeff_catches_every_single_digit_error_and_adjacent_transposition():
    rng = random.Random(7)
    for _ in range(300):
        body = "".join(str(rng.randrange(10)) for _ in range(rng.randrange(5, 15)))
        number = body + verhoeff_check_digit(body)
        assert verhoeff_valid(number)
        for index, char in enumerate(number):
            for other in "0123456789":
                if other != char:
                    assert not verhoeff_valid(number[:index] + other + number[index + 1 :])
        for index in range(len(number) - 1):
            if number[index] != number[index + 1]:
                swapped = number[:index] + number[index + 1] + number[index] + number[index + 2 :]
                assert not verhoeff_valid(swapped)


def test_verhoeff_exhaustive_over_four_digit_bodies():
    """Every 4-digit body: no single-digit error and no adjacent transposition (check digit included) goes unseen."""
    for value in range(10_000):
        body = f"{value:04d}"
        number = body + verhoeff_check_digit(body)
        for index in range(len(number) - 1):
            if number[index] != number[index + 1]:
                assert not verhoeff_valid(number[:index] + number[index + 1] + number[index] + number[index + 2 :])
        for index in range(len(number)):
            for other in "0123456789":
                if other != number[index]:
                    assert not verhoeff_valid(number[:index] + other + number[index + 1 :])


@pytest.mark.parametrize("bad", ["", "12a4", " 123", "12 3", "١٢٣", "12²", "-123", "1.5"])
def test_verhoeff_refuses_non_digits(bad):
    with pytest.raises(FormatError):
        verhoeff_check_digit(bad)
    assert not verhoeff_valid(bad)


def test_verhoeff_valid_wrong_types_and_single_digit():
    assert not verhoeff_valid(None)  # type: ignore[arg-type]
    assert not verhoeff_valid(2363)  # type: ignore[arg-type]
    assert not verhoeff_valid("0")  # a check digit alone is no number


@pytest.mark.parametrize(
    "uin",
    ["2363582914", "1357924680", "9182736450", "1123581321", "1230984765", "9870124359"],
)
def test_acceptable_examples(uin):
    assert acceptable(uin)


@pytest.mark.parametrize(
    ("uin", "why"),
    [
        ("0363582914", "leading zero"),
        ("2363582224", "digit repeated three times"),
        ("1234958371", "ascending run of 4"),
        ("5839876152", "descending run of 4"),
        ("2958118592", "palindrome"),
        ("29581x8592", "not a digit"),
        ("", "empty"),
        ("٢٣٦٣٥٨٢٩١٤", "non-ASCII digits"),
    ],
)
def test_acceptable_refusals(uin, why):
    assert not acceptable(uin), why


def test_acceptable_limits_are_parameters():
    assert not acceptable("2363582224")
    assert acceptable("2363582224", max_run=3)
    assert not acceptable("1234958371")
    assert acceptable("1234958371", max_sequence=4)
    assert not acceptable("1235958371", max_sequence=2)
    assert not acceptable("2363582914", max_run=0)


def test_acceptable_sequences_do_not_wrap_and_need_exact_steps():
    assert acceptable("8901894512")  # 8901 is not a sequence: 9 -> 0 does not wrap
    assert acceptable("1357913579" + "2")  # steps of 2 are not sequences
    assert not acceptable("1357998765")  # 98765 descending


def test_generate_10000_uins_default_length():
    uins = [generate_uin() for _ in range(10_000)]
    for uin in uins:
        assert len(uin) == 10
        assert verhoeff_valid(uin)
        assert acceptable(uin)
    # 10,000 draws from ~6e8 acceptable 10-digit UINs collide with probability ~8 %, so distinctness at this
    # length is the database's job; only near-distinctness is asserted here.
    assert len(set(uins)) >= 9_990


def test_generate_10000_uins_pairwise_distinct():
    uins = [generate_uin(16) for _ in range(10_000)]
    assert len(set(uins)) == 10_000  # collision probability ~1e-7 at 15 random digits
    assert all(len(uin) == 16 and verhoeff_valid(uin) and acceptable(uin) for uin in uins)


def test_generated_digits_are_spread():
    counts = {digit: 0 for digit in "0123456789"}
    for _ in range(2_000):
        for char in generate_uin(12)[1:-1]:  # body digits other than the first (never 0) and the check digit
            counts[char] += 1
    total = sum(counts.values())
    for digit, count in counts.items():
        assert 0.07 < count / total < 0.13, digit


@pytest.mark.parametrize("length", [6, 7, 20, 32])
def test_generate_lengths(length):
    uin = generate_uin(length)
    assert len(uin) == length and verhoeff_valid(uin) and acceptable(uin)


@pytest.mark.parametrize("length", [0, 5, 33, -1, 10.0, True, "10"])
def test_generate_refuses_bad_lengths(length):
    with pytest.raises(FormatError):
        generate_uin(length)


class Rigged:
    """A randbelow that first replays fixed digits, then defers to the CSPRNG; records every call."""

    def __init__(self, digits):
        self.digits = list(digits)
        self.calls = []

    def __call__(self, bound):
        self.calls.append(bound)
        return self.digits.pop(0) if self.digits else secrets.randbelow(bound)


def test_generate_retries_a_leading_zero():
    rigged = Rigged([0, 3, 6, 3, 5, 8, 2, 9, 1])  # "036358291" + check digit: leading zero
    uin = generate_uin(10, randbelow=rigged)
    assert len(rigged.calls) >= 18 and set(rigged.calls) == {10}  # the first body was drawn, then redrawn
    assert uin[0] != "0" and acceptable(uin)


def test_generate_retries_a_long_run():
    rigged = Rigged([2, 3, 7, 7, 7, 5, 8, 2, 9])  # three 7s in a row
    uin = generate_uin(10, randbelow=rigged)
    assert len(rigged.calls) >= 18
    assert "777" not in uin and acceptable(uin)


def test_generate_accepts_a_good_first_draw_without_retry():
    body = [2, 3, 6, 3, 5, 8, 2, 9, 1]
    rigged = Rigged(body)
    uin = generate_uin(10, randbelow=rigged)
    assert uin == "236358291" + verhoeff_check_digit("236358291")
    assert len(rigged.calls) == 9


def test_generate_gives_up_after_max_attempts():
    with pytest.raises(FormatError):
        generate_uin(10, randbelow=lambda bound: 0, max_attempts=50)  # always "000000000x"


def test_generate_refuses_a_broken_random_source():
    with pytest.raises(FormatError):
        generate_uin(10, randbelow=lambda bound: 10)
    with pytest.raises(FormatError):
        generate_uin(10, max_run=0)
