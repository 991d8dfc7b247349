"""Claims description objects and claims path pointers (OpenID4VCI 1.0 Appendix "Claims Description" and
"Claims Path Pointer"): checking what a wallet sends in ``authorization_details[].claims`` and choosing which of a
configuration's claims a credential then carries.

A configuration's claims are leaves named by string paths (its issuer-metadata ``credential_metadata.claims``;
for ISO mdoc ``[namespace, element]``). A pointer addresses such a claim when one is a prefix of the other,
component by component: ``["address"]`` selects every ``["address", ...]`` claim ("the claim address with its
sub-claims"), and ``["nationalities", null]`` reaches into the value of the ``["nationalities"]`` claim, which is
then included whole (idbb issues claims, not parts of their values). A ``null`` or integer component never
matches a string key.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.formats.errors import FormatError

Component = str | int | None
MAX_DESCRIPTIONS = 100
MAX_PATH = 16


class ClaimsDescriptionError(FormatError):
    """A ``claims`` array is malformed, or repeats or contradicts itself (processing MUST be aborted)."""


@dataclass(frozen=True)
class ClaimsDescription:
    path: tuple[Component, ...]
    mandatory: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"path": list(self.path), "mandatory": self.mandatory}


def _component(value: Any) -> Component:
    # Claims Path Pointer: a non-empty array of strings, nulls and (non-negative, 0-based) integers
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:  # negative integers are errors
        return value
    raise ClaimsDescriptionError("a claims path component is a string, null or a non-negative integer")


def parse_pointer(value: Any) -> tuple[Component, ...]:
    """A claims path pointer, checked: a non-empty array of strings, nulls and non-negative integers."""
    if not isinstance(value, list) or not value or len(value) > MAX_PATH:  # MUST be a non-empty array
        raise ClaimsDescriptionError("path must be a non-empty array")
    return tuple(_component(v) for v in value)


def parse_descriptions(value: Any) -> tuple[ClaimsDescription, ...]:
    """The ``claims`` of an ``openid_credential`` authorization detail (1.0 §5.1.1: a non-empty array of claims
    description objects), or :class:`ClaimsDescriptionError`. Other keys of an object are ignored (they MAY be
    used)."""
    if not isinstance(value, list) or not value or len(value) > MAX_DESCRIPTIONS:
        raise ClaimsDescriptionError("claims must be a non-empty array of claims description objects")
    out: list[ClaimsDescription] = []
    for item in value:
        if not isinstance(item, dict):
            raise ClaimsDescriptionError("each claims description is an object")
        path = parse_pointer(item.get("path"))  # path: REQUIRED
        mandatory = item.get("mandatory", False)
        if not isinstance(mandatory, bool):  # mandatory: OPTIONAL boolean, default false
            raise ClaimsDescriptionError("mandatory must be a boolean")
        out.append(ClaimsDescription(path, mandatory))
    _check_consistent([d.path for d in out])
    return tuple(out)


def _check_consistent(paths: list[tuple[Component, ...]]) -> None:
    """Processing Rules: a repeated or contradictory description MUST abort processing."""
    if len(set(paths)) != len(paths):  # the same claim addressed by two or more descriptions
        raise ClaimsDescriptionError("two claims descriptions address the same claim")
    for a in paths:
        for b in paths:
            if len(a) < len(b) and b[: len(a)] == a:  # a selects b's claims with its own: addressed twice
                raise ClaimsDescriptionError("two claims descriptions address the same claim")
            for depth in range(min(len(a), len(b))):
                if a[:depth] != b[:depth]:
                    break
                x, y = a[depth], b[depth]
                if x is None and isinstance(y, int):
                    # null (all elements of an array) and an index into the same array
                    raise ClaimsDescriptionError("a claims description uses null and another an index in one array")
                if isinstance(x, str) and (y is None or isinstance(y, int)):
                    # the same claim implied to be an object by one description and an array by another
                    raise ClaimsDescriptionError("two claims descriptions treat one claim as an object and an array")


def addresses(pointer: tuple[Component, ...], claim: tuple[str, ...]) -> bool:
    """Whether ``pointer`` addresses the configuration claim at ``claim`` (its sub-claims, or into its value)."""
    return all(p == c for p, c in zip(pointer, claim, strict=False))


def unknown(descriptions: Iterable[ClaimsDescription], claims: Iterable[tuple[str, ...]]) -> list[ClaimsDescription]:
    """The descriptions that address none of ``claims`` (a configuration's metadata paths)."""
    known = list(claims)
    return [d for d in descriptions if not any(addresses(d.path, c) for c in known)]


def select(
    values: Mapping[tuple[str, ...], Any],
    descriptions: Iterable[ClaimsDescription],
    always: Iterable[tuple[str, ...]],
) -> tuple[dict[tuple[str, ...], Any], list[ClaimsDescription]]:
    """The claim values a credential carries when a wallet asked for ``descriptions``: those addressed, plus the
    paths in ``always`` (the metadata's ``mandatory: true``: "the Credential Issuer will always include this
    claim"); the others are left out ("not included ... if the wallet did not request the inclusion of the
    claim"). Also the wallet-``mandatory`` descriptions that no held value satisfies."""
    wanted = list(descriptions)
    kept = set(always)
    out = {path: value for path, value in values.items() if path in kept or any(addresses(d.path, path) for d in wanted)}
    missing = [d for d in wanted if d.mandatory and not any(addresses(d.path, p) for p in out)]
    return out, missing
