"""The token endpoint's errors, in GovStack's precedence order, on both token paths (eSignet v1 and v2)."""

from typing import Any

import pytest

from tests.conftest import ISSUER
from tests.flows.oidc.token_helpers import (
    TOKEN,
    TOKEN_V2,
    assert_oauth_error,
    forged_assertion,
    full_form,
    obtain_code,
)

# --- GovStack token errors, in precedence order ----------------------------------------------------------


@pytest.mark.parametrize("path", [TOKEN, TOKEN_V2])
def test_empty_body_is_invalid_payload(client, path):
    """No body at all, and an empty form body: ``invalid_payload``."""
    assert_oauth_error(client.post(path), "invalid_payload")
    assert_oauth_error(
        client.post(path, content=b"", headers={"Content-Type": "application/x-www-form-urlencoded"}), "invalid_payload"
    )


@pytest.mark.parametrize("path", [TOKEN, TOKEN_V2])
def test_json_body_is_invalid_payload(client, rp, path):
    """A JSON body, even carrying every member (some empty), is not a form: ``invalid_payload`` first."""
    body = full_form(rp)
    body["code"] = ""
    assert_oauth_error(client.post(path, json=body), "invalid_payload")


@pytest.mark.parametrize(
    "member", ["grant_type", "code", "redirect_uri", "client_id", "client_assertion_type", "client_assertion"]
)
def test_member_present_but_empty_is_invalid_input(client, rp, member):
    form = full_form(rp)
    form[member] = ""
    assert_oauth_error(client.post(TOKEN, data=form), "invalid_input")
    form[member] = "   "  # blank counts as empty
    assert_oauth_error(client.post(TOKEN, data=form), "invalid_input")


def test_missing_redirect_uri_is_invalid_redirect_uri(client, rp):
    form = full_form(rp)
    del form["redirect_uri"]
    assert_oauth_error(client.post(TOKEN, data=form), "invalid_redirect_uri")


def test_missing_assertion_type_is_invalid_assertion_type(client, rp):
    form = full_form(rp)
    del form["client_assertion_type"]
    assert_oauth_error(client.post(TOKEN, data=form), "invalid_assertion_type")


def test_missing_assertion_is_invalid_assertion(client, rp):
    form = full_form(rp)
    del form["client_assertion"]
    assert_oauth_error(client.post(TOKEN, data=form), "invalid_assertion")


@pytest.mark.parametrize(
    ("remove", "empty", "expected"),
    [
        # each row has several faults; the first in GovStack's order wins
        ({"redirect_uri", "client_assertion_type", "client_assertion"}, {"code"}, "invalid_input"),
        ({"redirect_uri", "client_assertion_type", "client_assertion"}, set(), "invalid_redirect_uri"),
        ({"client_assertion_type", "client_assertion"}, set(), "invalid_assertion_type"),
        ({"client_assertion"}, set(), "invalid_assertion"),
        ({"redirect_uri"}, {"client_assertion"}, "invalid_input"),
    ],
)
def test_precedence_with_several_faults(client, rp, remove, empty, expected):
    form = full_form(rp)
    for name in remove:
        del form[name]
    for name in empty:
        form[name] = ""
    assert_oauth_error(client.post(TOKEN, data=form), expected)


def test_json_body_beats_every_other_fault(client):
    """Nothing of the body is read when it is not a form (empty members, missing ones, no client)."""
    assert_oauth_error(client.post(TOKEN, json={"grant_type": "", "code": ""}), "invalid_payload")


def test_bad_assertion_is_invalid_client_and_beats_a_bad_code(client, rp):
    form = full_form(rp, code="no-such-code")
    form["client_assertion"] = "not.a.jwt"
    assert_oauth_error(client.post(TOKEN, data=form), "invalid_client")


def test_bad_assertion_with_a_good_code_does_not_burn_the_code(client, rp, citizen):
    """invalid_client comes before the code is looked at: the code still works afterwards."""
    code = obtain_code(rp, citizen)
    assert_oauth_error(
        rp.exchange(code, client_assertion=forged_assertion(rp), redirect_uri="https://evil.example/cb"), "invalid_client"
    )
    assert rp.exchange(code).status_code == 200


def test_wrong_code_is_invalid_grant(rp):
    assert_oauth_error(rp.exchange("no-such-code"), "invalid_grant")


def test_redirect_uri_mismatch_is_invalid_grant(rp, citizen):
    code = obtain_code(rp, citizen)
    assert_oauth_error(rp.exchange(code, redirect_uri="https://rp.example/other"), "invalid_grant")


def test_wrong_code_verifier_is_invalid_grant(rp, citizen):
    code = obtain_code(rp, citizen)
    assert_oauth_error(rp.exchange(code, code_verifier="x" * 50), "invalid_grant")
    assert_oauth_error(rp.exchange(code, code_verifier=None), "invalid_grant")  # missing verifier


def test_unknown_code_beats_redirect_uri_and_verifier_faults(rp):
    body = assert_oauth_error(
        rp.exchange("no-such-code", redirect_uri="https://rp.example/other", code_verifier="x" * 50), "invalid_grant"
    )
    assert "code" in body["error_description"].lower()


@pytest.mark.parametrize("grant_type", ["password", "urn:ietf:params:oauth:grant-type:device_code"])
def test_unsupported_grant_type(client, rp, grant_type):
    form = full_form(rp)
    form["grant_type"] = grant_type
    assert_oauth_error(client.post(TOKEN, data=form), "unsupported_grant_type")


def test_unsupported_grant_type_beats_client_and_govstack_faults(client, rp):
    """The GovStack checks cover the code grant only; an unknown grant is named before authentication."""
    form = full_form(rp)
    form.update(grant_type="password", client_assertion=forged_assertion(rp), code="")
    del form["redirect_uri"]
    assert_oauth_error(client.post(TOKEN, data=form), "unsupported_grant_type")


@pytest.mark.parametrize("aud", [ISSUER + TOKEN_V2, ISSUER])
def test_esignet_v2_token_path_full_flow(client, rp, citizen, aud):
    """``POST /oauth/v2/token``: the assertion's aud may be that URL or the issuer."""
    code = obtain_code(rp, citizen)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier,
        "client_id": rp.client_id,
        **rp.auth_form(aud),
    }
    response = client.post(TOKEN_V2, data=form)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"code": ""}, "invalid_input"),
        ({"redirect_uri": None}, "invalid_redirect_uri"),
        ({"client_assertion_type": None}, "invalid_assertion_type"),
        ({"client_assertion": None}, "invalid_assertion"),
        ({"client_assertion": "not.a.jwt"}, "invalid_client"),
        ({"code": "no-such-code"}, "invalid_grant"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
    ],
)
def test_esignet_v2_token_path_errors(client, rp, change, expected):
    form: dict[str, Any] = full_form(rp, aud=ISSUER + TOKEN_V2)
    form.update(change)
    assert_oauth_error(client.post(TOKEN_V2, data={k: v for k, v in form.items() if v is not None}), expected)


def test_v2_path_accepts_an_assertion_for_the_v1_url(client, rp, citizen):
    """One endpoint at two paths: either URL is a valid audience at either path."""
    code = obtain_code(rp, citizen)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier,
        **rp.auth_form(ISSUER + TOKEN),
    }
    assert client.post(TOKEN_V2, data=form).status_code == 200
