"""apply_disclosures narrows the claim-path patterns on the way down (app.formats.sd_jwt): wildcards, indexes,
patterns nested under disclosed claims (RFC 9901 §4.2.6) and paths that name nothing behave as matching each
node's full path did (OpenID4VCI 1.0 Appendix C)."""

import pytest

from app.formats.errors import DisclosureError
from app.formats.sd_jwt import SD_KEY, apply_disclosures, process_payload

CLAIMS = {
    "given_name": "A",
    "address": {"street": "s", "locality": "l"},
    "nationalities": ["DE", "FR"],
    "nested": [{"a": 1, "b": [1, 2]}, {"a": 2, "b": [3]}],
}


def _disclosed(paths: list[tuple[str | int | None, ...]]) -> list[tuple[str | None, object]]:
    payload, disclosures = apply_disclosures(CLAIMS, paths, decoys=(0, 0))
    assert process_payload(payload, disclosures) == CLAIMS  # every disclosure sent: the claims come back
    return [(d.name, d.value) for d in disclosures]


def test_wildcards_indexes_and_nested_patterns() -> None:
    disclosed = _disclosed([("nested", None), ("nested", None, "a"), ("nested", 0, "b", 1), ("address", "locality")])
    names = [name for name, _ in disclosed]
    assert names.count("a") == 2 and ("locality", "l") in disclosed
    assert names.count(None) == 3  # both elements of nested, and nested[0].b[1]
    assert (None, 2) in disclosed


def test_a_disclosed_object_carries_the_digests_of_its_own_disclosures() -> None:
    payload, disclosures = apply_disclosures(CLAIMS, [("address",), ("address", "street")], decoys=(0, 0))
    (street, address) = disclosures  # children first: the street is inside the address disclosure
    assert street.name == "street" and address.name == "address"
    assert address.value == {"locality": "l", SD_KEY: [street.digest]}
    assert payload[SD_KEY] == [address.digest]


@pytest.mark.parametrize(
    "path",
    [("nope",), ("nationalities", 5), ("address", "street", "x"), ("given_name", None), ("nested", None, "c"), (0,)],
)
def test_a_path_that_names_no_claim_is_refused(path: tuple[str | int | None, ...]) -> None:
    with pytest.raises(DisclosureError, match="name no claim"):
        apply_disclosures(CLAIMS, [("given_name",), path])


@pytest.mark.parametrize(
    "plain",
    [
        {"meta": {"_sd": ["x"]}},
        {"meta": [{"ok": 1}, {"...": "x"}]},
        {"meta": {"deep": {"_sd_alg": "sha-256"}}},
        {"meta": {1: "a name that is not a string"}},
    ],
)
def test_a_reserved_name_anywhere_in_a_subtree_with_nothing_disclosable_is_refused(plain: dict) -> None:
    """§4.2.4.1-2: _sd, _sd_alg and ... are payload syntax wherever they sit; a subtree without disclosable claims
    is checked, not copied, and still refused."""
    with pytest.raises(DisclosureError):
        apply_disclosures({**CLAIMS, **plain}, [("given_name",)], decoys=(0, 0))


def test_subtrees_without_disclosable_claims_come_out_unchanged() -> None:
    claims = {**CLAIMS, "cnf": {"jwk": {"kty": "EC", "crv": "P-256"}}, "status": {"status_list": {"idx": 3, "uri": "u"}}}
    payload, disclosures = apply_disclosures(claims, [("address", "street")], decoys=(0, 0))
    assert payload["cnf"] == claims["cnf"] and payload["status"] == claims["status"]
    assert payload["nested"] == CLAIMS["nested"] and payload["nationalities"] == ["DE", "FR"]
    assert process_payload(payload, disclosures) == claims
    assert payload is not claims and payload["address"] is not claims["address"]  # new down to each disclosure


def test_a_mapping_that_is_not_a_dict_in_a_plain_subtree_is_copied_into_one() -> None:
    """Only dicts, lists and scalars are shared; another Mapping (a read-only view) becomes a dict, so the payload
    always serialises as JSON."""
    import json
    from types import MappingProxyType

    claims = {**CLAIMS, "meta": MappingProxyType({"source": "registry", "inner": MappingProxyType({"a": 1})})}
    payload, _ = apply_disclosures(claims, [("given_name",)], decoys=(0, 0))
    assert json.loads(json.dumps(payload))["meta"] == {"source": "registry", "inner": {"a": 1}}
