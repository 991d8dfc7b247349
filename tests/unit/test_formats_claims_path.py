"""Claims description objects and claims path pointers (OpenID4VCI 1.0 Appendix "Claims Description", "Claims Path
Pointer"): what is refused, what a pointer addresses, and which claim values a credential keeps."""

import pytest

from app.formats.claims_path import (
    ClaimsDescription,
    ClaimsDescriptionError,
    addresses,
    parse_descriptions,
    parse_pointer,
    select,
    unknown,
)

VALUES = {
    ("family_name",): "Diallo",
    ("given_name",): "Amina",
    ("address", "street"): "Rue 1",
    ("address", "locality"): "Dakar",
    ("nationalities",): ["SN", "FR"],
}


def test_pointers_take_strings_nulls_and_non_negative_integers():
    assert parse_pointer(["degrees", None, "type"]) == ("degrees", None, "type")
    assert parse_pointer(["list", 0]) == ("list", 0)
    for bad in ([], "a", None, ["a", -1], ["a", True], ["a", 1.0], ["a", {}], ["a"] * 17):
        with pytest.raises(ClaimsDescriptionError):
            parse_pointer(bad)


def test_descriptions_default_mandatory_to_false_and_keep_order():
    got = parse_descriptions([{"path": ["b"]}, {"path": ["a"], "mandatory": True, "other": 1}])
    assert got == (ClaimsDescription(("b",)), ClaimsDescription(("a",), True))
    assert got[1].as_json() == {"path": ["a"], "mandatory": True}


@pytest.mark.parametrize(
    "value",
    [
        [],
        {},
        [1],
        [{"path": ["a"], "mandatory": 1}],
        [{"path": ["a"]}, {"path": ["a"]}],  # the same claim twice
        [{"path": ["a"]}, {"path": ["a", "b"]}],  # a, with its sub-claims, and b of it again
        [{"path": ["a", None]}, {"path": ["a", 2]}],  # all elements and one element of one array
        [{"path": ["a", 2]}, {"path": ["a", None]}],
        [{"path": ["a", "b"]}, {"path": ["a", None]}],  # a is an object for one, an array for the other
        [{"path": ["x", "a", 0]}, {"path": ["x", "a", "k"]}],
    ],
)
def test_repeated_or_contradictory_descriptions_abort(value):
    with pytest.raises(ClaimsDescriptionError):
        parse_descriptions(value)


def test_distinct_paths_in_one_array_or_object_are_fine():
    assert len(parse_descriptions([{"path": ["d", None, "type"]}, {"path": ["d", None, "title"]}])) == 2
    assert len(parse_descriptions([{"path": ["l", 0]}, {"path": ["l", 1]}])) == 2
    assert len(parse_descriptions([{"path": ["a", "b"]}, {"path": ["a", "c"]}])) == 2


def test_what_a_pointer_addresses():
    assert addresses(("address",), ("address", "street"))  # the claim with its sub-claims
    assert addresses(("nationalities", None), ("nationalities",))  # into the claim's value
    assert not addresses(("address", "street"), ("address", "locality"))
    assert not addresses((None,), ("family_name",))  # null never matches a key
    assert unknown(parse_descriptions([{"path": ["nickname"]}, {"path": ["address"]}]), VALUES) == [
        ClaimsDescription(("nickname",))
    ]


def test_select_keeps_what_was_asked_for_and_what_is_always_issued():
    asked = parse_descriptions([{"path": ["address"]}, {"path": ["nationalities", 0]}])
    kept, unmet = select(VALUES, asked, [("family_name",)])
    assert kept == {
        ("family_name",): "Diallo",
        ("address", "street"): "Rue 1",
        ("address", "locality"): "Dakar",
        ("nationalities",): ["SN", "FR"],
    }
    assert unmet == []
    _, unmet = select(VALUES, parse_descriptions([{"path": ["birthdate"], "mandatory": True}]), [])
    assert unmet == [ClaimsDescription(("birthdate",), True)]
