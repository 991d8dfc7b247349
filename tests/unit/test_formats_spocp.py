"""SPOCP-style S-expression rules (app/formats/spocp.py): parsing, the "covers" comparison, the seed's rules."""

import pytest

from app.formats import spocp
from app.formats.spocp import RuleSyntaxError

SEED_POST = (
    "(vc (service apigw)(method POST)(path /api/v1/datastore/)(subject hr-system)(authentic_source SUNET)(scope diploma))"
)
SEED_DELETE = "(vc (service apigw)(method DELETE)(path /api/v1/datastore)(subject hr-admin)(authentic_source *)(scope *))"


def request(method: str, path: str, subject: str, source: str, scope: str) -> spocp.Expr:
    return spocp.query(
        "vc",
        [
            ("service", "apigw"),
            ("method", method),
            ("path", path),
            ("subject", subject),
            ("authentic_source", source),
            ("scope", scope),
        ],
    )


def test_parse_gives_nested_tuples() -> None:
    assert spocp.parse("(vc (service apigw)(method POST))") == ("vc", ("service", "apigw"), ("method", "POST"))
    assert spocp.parse('(vc (subject "Alice Smith"))') == ("vc", ("subject", "Alice Smith"))


@pytest.mark.parametrize(
    "text", ["", "vc", "(vc", "(vc))", "()", "((a))", "(vc) (vc)", '(vc "open)', "(* prefix a)", "(" * 40 + ")" * 40]
)
def test_malformed_rules_are_refused(text: str) -> None:
    with pytest.raises(RuleSyntaxError):
        spocp.parse(text)


def test_seed_rules_allow_and_refuse_each_dimension() -> None:
    rules = spocp.compile_rules([SEED_POST, SEED_DELETE, "# a comment", ""])
    assert len(rules) == 2
    assert spocp.allowed(rules, request("POST", "/api/v1/datastore/", "hr-system", "SUNET", "diploma"))
    assert not spocp.allowed(rules, request("PUT", "/api/v1/datastore/", "hr-system", "SUNET", "diploma"))
    assert not spocp.allowed(rules, request("POST", "/api/v1/datastore/bulk", "hr-system", "SUNET", "diploma"))
    assert not spocp.allowed(rules, request("POST", "/api/v1/datastore/", "intruder", "SUNET", "diploma"))
    assert not spocp.allowed(rules, request("POST", "/api/v1/datastore/", "hr-system", "OTHER", "diploma"))
    assert not spocp.allowed(rules, request("POST", "/api/v1/datastore/", "hr-system", "SUNET", "pid"))
    assert spocp.allowed(rules, request("DELETE", "/api/v1/datastore", "hr-admin", "anything", "any"))
    assert not spocp.allowed(rules, request("DELETE", "/api/v1/datastore", "hr-system", "SUNET", "diploma"))
    assert not spocp.allowed((), request("POST", "/api/v1/datastore/", "hr-system", "SUNET", "diploma"))


def test_star_forms_and_shorter_rules() -> None:
    prefix = spocp.parse("(vc (service apigw)(method *)(path (* prefix /api/v1/identity/)))")
    assert spocp.covers(prefix, request("GET", "/api/v1/identity/mapping/search", "x", "y", ""))
    assert not spocp.covers(prefix, request("GET", "/api/v1/datastore/", "x", "y", ""))
    chosen = spocp.parse("(vc (service apigw)(method (* set GET POST)))")  # a shorter rule covers refinements
    assert spocp.covers(chosen, request("POST", "/p", "s", "a", "c"))
    assert not spocp.covers(chosen, request("DELETE", "/p", "s", "a", "c"))
    suffix = spocp.parse("(vc (service apigw)(method GET)(path (* suffix /search)))")
    assert spocp.covers(suffix, request("GET", "/api/v1/datastore/search", "s", "a", "c"))
    unknown = spocp.parse("(vc (service (* range numeric ge 1)))")
    assert not spocp.covers(unknown, request("GET", "/p", "s", "a", "c"))  # an unknown star form fails closed
    assert not spocp.covers(spocp.parse("(other)"), request("GET", "/p", "s", "a", "c"))
    longer = spocp.parse("(vc (service apigw)(method GET)(path /p)(subject s)(authentic_source a)(scope c)(x y))")
    assert not spocp.covers(longer, request("GET", "/p", "s", "a", "c"))


def test_rule_file_errors_name_the_line() -> None:
    with pytest.raises(RuleSyntaxError, match="rule 2"):
        spocp.compile_rules([SEED_POST, "(vc (method POST)"])
