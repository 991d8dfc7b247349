"""The GovStack compliance sandbox profile: seeded fixtures and relaxed rules; the strict profile refuses
the same inputs (issue 4, issue 13, README "GovStack compliance sandbox").

Issue 13's tests send the bodies GovStack's harness (bb-identity ``test/openAPI``) sends, over HTTP.
"""

import time
from typing import Any

import pytest

from app.services.ops.sandbox import SANDBOX_INDIVIDUAL_ID, SANDBOX_PASSWORD, SANDBOX_TRANSACTIONS
from app.services.ops.startup import assert_ready_to_serve
from tests.conftest import ISSUER, request_time
from tests.flows.oidc_helpers import new_rsa_key

XSRF = {"X-XSRF-TOKEN": "sandbox-xsrf"}


def call(client: Any, path: str, request: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.post(path, json={"requestTime": request_time(), "request": request}, headers=headers or {})
    assert response.status_code == 200, response.text
    return dict(response.json())


def error(body: dict[str, Any]) -> str | None:
    return body["errors"][0]["errorCode"] if body["errors"] else None


@pytest.fixture
def sandbox(make_app: Any) -> Any:
    cx = make_app(profile="govstack-sandbox", issuer=ISSUER)
    assert_ready_to_serve(cx.app)  # what `idbb serve` and the ASGI entry point run at start-up: seeds the fixtures
    return cx


@pytest.fixture
def sandbox_client(sandbox: Any) -> Any:
    return sandbox.test_client(base_url=ISSUER)


def login_by_wallet_with_password(client: Any, transaction_id: str) -> dict[str, Any]:
    made = call(client, "/linked-authorization/link-code", {"transactionId": transaction_id}, XSRF)
    assert error(made) is None, made
    code = made["response"]["linkCode"]
    linked = call(client, "/linked-authorization/link-transaction", {"linkCode": code})
    assert error(linked) is None, linked
    assert linked["response"]["essentialClaims"] == []  # issue 13 point 4: all voluntary
    assert {"name", "given_name"} <= set(linked["response"]["voluntaryClaims"])
    ltid = linked["response"]["linkTransactionId"]
    auth = call(
        client,
        "/linked-authorization/authenticate",
        {
            "linkedTransactionId": ltid,
            "individualId": SANDBOX_INDIVIDUAL_ID,
            "challengeList": [{"authFactorType": "PIN", "challenge": SANDBOX_PASSWORD, "format": "alpha-numeric"}],
        },
    )
    assert error(auth) is None, auth
    given = call(
        client,
        "/linked-authorization/consent",
        {"linkedTransactionId": ltid, "acceptedClaims": ["name", "given_name"], "permittedAuthorizeScopes": []},
    )
    assert error(given) is None, given
    got = call(client, "/linked-authorization/link-auth-code", {"transactionId": transaction_id, "linkedCode": code}, XSRF)
    assert error(got) is None, got
    return dict(got["response"])


def test_seeded_transactions_log_in_the_seeded_person_and_stay_usable(sandbox_client: Any) -> None:
    first = login_by_wallet_with_password(sandbox_client, "transactionId01")
    assert first["state"] == "state-transactionId01" and first["nonce"] == "nonce-transactionId01"
    assert first["code"] and first["redirectUri"].startswith("https://")
    again = login_by_wallet_with_password(sandbox_client, "transactionId01")  # a finished one reopens
    assert again["code"] != first["code"]
    for transaction_id in SANDBOX_TRANSACTIONS:
        made = call(sandbox_client, "/linked-authorization/link-code", {"transactionId": transaction_id}, XSRF)
        assert error(made) is None, (transaction_id, made)


def test_sandbox_link_codes_live_20_seconds_and_polls_answer_within_3_seconds(sandbox_client: Any) -> None:
    made = call(sandbox_client, "/linked-authorization/link-code", {"transactionId": "transactionId02"}, XSRF)
    from datetime import UTC, datetime

    expires = datetime.strptime(made["response"]["expireDateTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert 15 <= (expires - datetime.now(UTC)).total_seconds() <= 21
    started = time.perf_counter()
    status = call(
        sandbox_client,
        "/linked-authorization/link-status",
        {"transactionId": "transactionId02", "linkCode": made["response"]["linkCode"]},
        XSRF,
    )
    assert time.perf_counter() - started < 3
    assert status["errors"] == [] and status["response"] == {"transactionId": "transactionId02"}


def client_request() -> dict[str, Any]:
    _pem, public = new_rsa_key()
    return {
        "clientId": "harness-rp",
        "clientName": "Harness",
        "relyingPartyId": "harness",
        "logoUri": "https://harness.example/logo.png",
        "redirectUris": ["https://harness.example/cb"],
        "authContextRefs": ["idbb:acr:static-code"],
        "publicKey": public,
        "userClaims": ["name"],
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
    }


def test_sandbox_client_management_needs_no_bearer_token(sandbox_client: Any) -> None:
    body = call(sandbox_client, "/client-mgmt/oidc-client", client_request())
    assert error(body) is None and body["response"]["clientId"] == "harness-rp"


def test_strict_profile_refuses_the_sandbox_shortcuts(app: Any, client: Any) -> None:
    response = client.post("/client-mgmt/oidc-client", json={"requestTime": request_time(), "request": client_request()})
    assert response.status_code == 401
    made = call(client, "/linked-authorization/link-code", {"transactionId": "transactionId01"}, XSRF)
    assert error(made) == "invalid_transaction_id"  # nothing is seeded outside the sandbox


def test_fixtures_are_never_seeded_outside_the_sandbox(app: Any) -> None:
    from app.services.ops import sandbox

    with app.app.app_context(), pytest.raises(RuntimeError):
        sandbox.seed()


# --- issue 13: what GovStack's harness sends ------------------------------------------------------------

LA = "/linked-authorization"
HARNESS_XSRF = {"X-XSRF-TOKEN": "X-XSRF-TOKEN"}  # the harness's header, and no cookie at all
#: The harness's client key: a JSON *string* of an RSA "JWK" without ``e`` (``a`` instead), ``n`` altered.
HARNESS_KEY = (
    '{"kty":"RSA","a":"AQAB","use":"sig","alg":"RS256","n":"'
    "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstI"
    "s-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8A"
    "kAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP"
    "2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw"
    '-test1"}'
)


def bad_key_client(client_id: str = "payment-service", **changes: Any) -> dict[str, Any]:
    body = {
        **client_request(),
        "clientId": client_id,
        "publicKey": HARNESS_KEY,
        "redirectUris": ["http://redirectMe1.com"],
        "logoUri": "http://example1.com",
    }
    body.update(changes)
    return body


def test_sandbox_client_management_keeps_a_key_it_cannot_load_and_refuses_what_is_not_a_json_object(
    sandbox_client: Any,
) -> None:
    """Issue 13 point 1: GovStack's harness registers ``HARNESS_KEY`` (9 create and 8 update scenarios
    failed on invalid_public_key). The sandbox keeps it as given; the other error codes keep their order."""
    created = call(sandbox_client, "/client-mgmt/oidc-client", bad_key_client())
    assert created["errors"] == [] and created["response"] == {"clientId": "payment-service", "status": "active"}
    import base64

    as_base64 = base64.b64encode(HARNESS_KEY.replace("test1", "test2").encode()).decode()
    assert (
        error(call(sandbox_client, "/client-mgmt/oidc-client", bad_key_client("e-bank-service", publicKey=as_base64)))
        is None
    )
    assert (
        error(call(sandbox_client, "/client-mgmt/oidc-client", bad_key_client("as-object", publicKey={"kty": "OKP"})))
        is None
    )
    update = {k: v for k, v in bad_key_client().items() if k not in ("clientId", "relyingPartyId")}
    updated = sandbox_client.put(
        "/client-mgmt/oidc-client/payment-service",
        json={"requestTime": request_time(), "request": {**update, "status": "inactive", "clientName": "Payment Service"}},
    )
    assert updated.status_code == 200 and updated.json()["errors"] == [], updated.text
    assert updated.json()["response"] == {"clientId": "payment-service", "status": "inactive"}
    for not_an_object in ("string", '["kty"]', '{"n": "no kty"}', '{"kty": "RSA", "d": "private"}', 42):
        refused = call(sandbox_client, "/client-mgmt/oidc-client", bad_key_client("other", publicKey=not_an_object))
        assert error(refused) == "invalid_public_key", not_an_object
    faults = {
        "invalid_claim": {"userClaims": ["invalid_claims"]},
        "invalid_grant_type": {"grantTypes": ["invalid_code"]},
        "invalid_client_auth": {"clientAuthMethods": ["invalid_auth_method"]},
        "duplicate_client_id": {"clientId": "payment-service", "clientName": "Another body"},
    }
    for code, fault in faults.items():
        assert error(call(sandbox_client, "/client-mgmt/oidc-client", bad_key_client("lonely-fault", **fault))) == code, code


def test_a_sandbox_client_with_a_key_it_cannot_load_cannot_authenticate(sandbox_client: Any) -> None:
    """Kept as given, the key verifies nothing: its client's assertions are invalid_client, never a 5xx."""
    assert error(call(sandbox_client, "/client-mgmt/oidc-client", bad_key_client("keyless"))) is None
    import jwt as pyjwt

    from tests.flows.oidc_helpers import new_rsa_key

    pem, _ = new_rsa_key()
    now = int(time.time())
    assertion = pyjwt.encode(
        {"iss": "keyless", "sub": "keyless", "aud": ISSUER + "/oauth/token", "iat": now, "exp": now + 60, "jti": "j1"},
        pem,
        algorithm="RS256",
    )
    answer = sandbox_client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": "code",
            "redirect_uri": "http://redirectMe1.com",
            "client_id": "keyless",
            "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        },
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_client", answer.text


def test_strict_profile_still_refuses_the_harness_key(client: Any, api_client: Any) -> None:
    token = api_client("add_oidc_client").token()
    from tests.conftest import bearer

    request = bad_key_client(logoUri="https://example1.com/logo.png", redirectUris=["https://redirectme1.example/cb"])
    answer = client.post(
        "/client-mgmt/oidc-client", json={"requestTime": request_time(), "request": request}, headers=bearer(token)
    )
    assert answer.status_code == 200 and error(answer.json()) == "invalid_public_key"


PARTNER = {"PARTNER-ID": "any-partner", "PARTNER-API-KEY": "any-key"}


def binding(individual_id: str, factor: str, fmt: str, public_key: Any, challenge: str = "string") -> dict[str, Any]:
    return {
        "individualId": individual_id,
        "authFactorType": factor,
        "format": fmt,
        "challengeList": [{"authFactorType": factor, "challenge": challenge, "format": fmt}],
        "publicKey": public_key,
    }


def test_sandbox_wallet_binding_takes_govstacks_factor_types_and_formats(sandbox_client: Any) -> None:
    """Issue 13 point 2: the harness binds with top-level ``authFactorType: "OTP"`` and each of GovStack's four
    formats (the same in challengeList); idbb answered unsupported_challenge_format to all."""
    first_key = new_rsa_key()[1]
    for n, fmt in enumerate(("alpha-numeric", "jwt", "encoded-json", "number")):
        key = first_key if n == 0 else new_rsa_key()[1]
        bound = call(sandbox_client, "/wallet-binding", binding(f"n3fy2qkg9r7h{n}", "OTP", fmt, key), PARTNER)
        assert bound["errors"] == [], (fmt, bound)
        assert bound["response"]["certificate"].startswith("-----BEGIN CERTIFICATE-----")
    _pem, key = new_rsa_key()
    for factor in ("PIN", "BIO", "WLA"):  # the top-level factor; an OTP challenge proves the person
        top = {**binding(f"{factor}-person", "OTP", "encoded-json", new_rsa_key()[1]), "authFactorType": factor}
        assert error(call(sandbox_client, "/wallet-binding", top, PARTNER)) is None, factor
    for factor, fmt in (("OTP", "invalid_format"), ("FACE", "jwt"), ("OTP", "base64url-encoded-json")):
        refused = call(sandbox_client, "/wallet-binding", binding("n3fy2qkg9r7h2", factor, fmt, key), PARTNER)
        assert error(refused) == "unsupported_challenge_format", (factor, fmt)
    mixed = binding("n3fy2qkg9r7h2", "OTP", "encoded-json", key)
    mixed["challengeList"][0]["format"] = "invalid_format"
    assert error(call(sandbox_client, "/wallet-binding", mixed, PARTNER)) == "unsupported_challenge_format"
    assert (
        error(call(sandbox_client, "/wallet-binding", binding("n3fy2qkg9r7h2", "OTP", "encoded-json", "string"), PARTNER))
        == "invalid_public_key"
    )
    assert (
        error(call(sandbox_client, "/wallet-binding", binding("n3fy2qkg9r7h0", "OTP", "alpha-numeric", first_key), PARTNER))
        == "duplicate_public_key"
    )
    assert (
        error(
            call(
                sandbox_client,
                "/wallet-binding",
                binding("n3fy2qkg9r7h2", "OTP", "encoded-json", new_rsa_key()[1], challenge=""),
                PARTNER,
            )
        )
        == "invalid_auth_challenge"
    )
    assert (
        error(
            call(
                sandbox_client,
                "/wallet-binding",  # a PIN is still checked in the sandbox
                binding(SANDBOX_INDIVIDUAL_ID, "PIN", "number", new_rsa_key()[1], challenge="000000"),
                PARTNER,
            )
        )
        == "invalid_auth_challenge"
    )


def test_strict_profile_still_binds_wla_jwt_keys_only(client: Any, api_client: Any) -> None:
    from tests.conftest import bearer

    backend = api_client("wallet_binding")
    _pem, key = new_rsa_key()
    answer = client.post(
        "/wallet-binding",
        json={"requestTime": request_time(), "request": binding("n3fy2qkg9r7h2", "OTP", "encoded-json", key)},
        headers={**bearer(backend.token()), "PARTNER-ID": backend.client_id, "PARTNER-API-KEY": "k"},
    )
    assert answer.status_code == 200 and error(answer.json()) == "unsupported_challenge_format"


def test_sandbox_seeded_transactions_have_no_total_link_code_limit_but_keep_the_live_one(
    sandbox: Any, sandbox_client: Any
) -> None:
    """Issue 13 point 3: the harness asks for about 15 link codes on transactionId01 in one run; after 10
    idbb answered link_code_gen_failed. The live limit still holds: a new code retires the oldest."""
    from app.extensions import db
    from app.models.linking import LinkCode
    from app.services.wallet.linked_authorization import link_status

    made = [call(sandbox_client, LA + "/link-code", {"transactionId": "transactionId01"}, HARNESS_XSRF) for _ in range(15)]
    assert [error(m) for m in made] == [None] * 15
    settings = sandbox.app.extensions["idbb"].settings
    assert settings.link_codes_total_max == 10
    codes = [m["response"]["linkCode"] for m in made]
    with sandbox.app.app_context():
        assert db.session.query(LinkCode).filter_by(transaction_id="transactionId01").count() == 15
        for old in codes[: -settings.link_codes_live_max]:
            with pytest.raises(Exception, match="invalid_link_code"):
                link_status("transactionId01", old, browser=None)  # seeded: no browser started it
    status = call(
        sandbox_client, LA + "/link-status", {"transactionId": "transactionId01", "linkCode": codes[0]}, HARNESS_XSRF
    )
    assert error(status) == "invalid_link_code"  # retired by the newer ones
    assert error(call(sandbox_client, LA + "/link-transaction", {"linkCode": codes[-1]})) is None


def test_sandbox_transactions_a_browser_started_keep_both_link_code_limits(sandbox: Any, sandbox_client: Any) -> None:
    """Only the seeded transactions are exempt: a login started at /authorize in the sandbox still gets at most
    IDBB_LINK_CODES_TOTAL_MAX codes, and only its own browser gets them."""
    from app.services.ops.sandbox import SANDBOX_REDIRECT, SANDBOX_RP
    from tests.flows.linked_helpers import WALLET, open_login_page
    from tests.flows.oidc_helpers import RelyingParty

    pem, public = new_rsa_key()
    browser = open_login_page(RelyingParty(SANDBOX_RP, pem, public, sandbox_client, redirect_uri=SANDBOX_REDIRECT), WALLET)
    total = sandbox.app.extensions["idbb"].settings.link_codes_total_max
    assert [error(browser.link_code()) for _ in range(total + 1)] == [None] * total + ["link_code_gen_failed"]
    fresh_jar = sandbox.test_client(base_url=ISSUER)
    other = call(fresh_jar, LA + "/link-code", {"transactionId": browser.txn}, HARNESS_XSRF)  # no browser cookie
    assert error(other) == "invalid_transaction_id"


def test_sandbox_consent_without_claims_and_with_openid(sandbox_client: Any) -> None:
    """Issue 13 point 4: the harness consents with no acceptedClaims, then with "openid" as
    permittedAuthorizeScopes and "given_name" as acceptedClaims (strings), on the same linked transaction."""
    made = call(sandbox_client, LA + "/link-code", {"transactionId": "transactionId01"}, HARNESS_XSRF)
    linked = call(sandbox_client, LA + "/link-transaction", {"linkCode": made["response"]["linkCode"]})
    ltid = linked["response"]["linkTransactionId"]
    bare = call(sandbox_client, LA + "/consent", {"linkedTransactionId": ltid})
    assert bare["errors"] == [] and bare["response"] == {"linkedTransactionId": ltid}
    given = call(
        sandbox_client,
        LA + "/consent",
        {"linkedTransactionId": ltid, "permittedAuthorizeScopes": "openid", "acceptedClaims": "given_name"},
    )
    assert given["errors"] == [] and given["response"] == {"linkedTransactionId": ltid}
    unasked = call(
        sandbox_client, LA + "/consent", {"linkedTransactionId": ltid, "permittedAuthorizeScopes": ["offline_access"]}
    )
    assert error(unasked) == "invalid_permitted_scope"
    assert (
        error(call(sandbox_client, LA + "/consent", {"linkedTransactionId": "invalid_transaction_id"}))
        == "invalid_transaction_id"
    )


def test_error_envelopes_keep_an_empty_response_except_link_auth_code(sandbox_client: Any) -> None:
    """Issue 13 point 5 (all profiles): GovStack clients read ``.response.x`` on any answer."""
    answers = {
        "link-code": call(sandbox_client, LA + "/link-code", {"transactionId": "no-such"}, HARNESS_XSRF),
        "link-status": call(
            sandbox_client, LA + "/link-status", {"transactionId": "no-such", "linkCode": "x"}, HARNESS_XSRF
        ),
        "link-transaction": call(sandbox_client, LA + "/link-transaction", {"linkCode": "invalid_link_code"}),
        "v2/link-transaction": call(sandbox_client, LA + "/v2/link-transaction", {"linkCode": "invalid_link_code"}),
        "authenticate": call(
            sandbox_client,
            LA + "/authenticate",
            {
                "linkedTransactionId": "no-such",
                "individualId": SANDBOX_INDIVIDUAL_ID,
                "challengeList": [{"authFactorType": "PIN", "challenge": "password", "format": "alpha-numeric"}],
            },
        ),
    }
    for name, answer in answers.items():
        assert len(answer["errors"]) == 1 and answer["response"] == {}, (name, answer)
        assert set(answer) == {"responseTime", "response", "errors"}
    auth_code = call(
        sandbox_client,
        LA + "/link-auth-code",
        {"transactionId": "transactionId01", "linkedCode": "linkedCode01"},
        HARNESS_XSRF,
    )
    assert error(auth_code) == "invalid_link_code" and "response" not in auth_code


@pytest.mark.parametrize("endpoint", ["link-code", "link-status", "link-auth-code"])
def test_an_unreadable_xsrf_cookie_is_refused(sandbox_client: Any, endpoint: str) -> None:
    """Issue 13 point 6 (all profiles, a security fix): werkzeug's parser drops a value with spaces, so the
    harness's ``Cookie: XSRF-TOKEN=invalid XSRF-TOKEN cookie`` passed on the header alone and got a new code."""
    made = call(sandbox_client, LA + "/link-code", {"transactionId": "transactionId02"}, HARNESS_XSRF)
    code = made["response"]["linkCode"]
    if endpoint == "link-auth-code":  # a linked code: link-auth-code then waits for the wallet, without error
        assert error(call(sandbox_client, LA + "/link-transaction", {"linkCode": code})) is None
    request = {
        "link-code": {"transactionId": "transactionId02"},
        "link-status": {"transactionId": "transactionId02", "linkCode": code},
        "link-auth-code": {"transactionId": "transactionId02", "linkedCode": code},
    }[endpoint]
    body = {"requestTime": request_time(), "request": request}
    answer = sandbox_client.post(
        f"{LA}/{endpoint}", json=body, headers={**HARNESS_XSRF, "Cookie": "XSRF-TOKEN=invalid XSRF-TOKEN cookie"}
    )
    assert answer.status_code == 403, answer.text
    assert [e["errorCode"] for e in answer.json()["errors"]] == ["invalid_csrf_token"]
    assert "linkCode" not in answer.text
    alone = sandbox_client.post(f"{LA}/{endpoint}", json=body, headers=HARNESS_XSRF)  # no cookie: still works
    assert alone.status_code == 200 and alone.json()["errors"] == [], alone.text


def test_link_transaction_names_the_wallet_factor_wallet_on_v1_and_wla_on_v2(sandbox_client: Any) -> None:
    """Issue 13 point 7: GovStack's link-transaction schema enumerates PIN, OTP, L1-bio-device, Wallet."""
    seen = {}
    for path in ("/link-transaction", "/v2/link-transaction"):
        made = call(sandbox_client, LA + "/link-code", {"transactionId": "transactionId03"}, HARNESS_XSRF)
        linked = call(sandbox_client, LA + path, {"linkCode": made["response"]["linkCode"]})
        seen[path] = {f["type"] for alt in linked["response"]["authFactors"] for f in alt}
    assert "Wallet" in seen["/link-transaction"] and "WLA" not in seen["/link-transaction"]
    assert "WLA" in seen["/v2/link-transaction"] and "Wallet" not in seen["/v2/link-transaction"]
    assert seen["/link-transaction"] <= {"PIN", "OTP", "L1-bio-device", "Wallet"}
