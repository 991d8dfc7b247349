"""``claims`` in ``authorization_details`` (OpenID4VCI 1.0 §5.1.1, Appendix "Claims Description"): the wallet asks
for some claims of a credential at /authorize (or PAR); the token response echoes them; the credential carries the
claims asked for plus those the issuer metadata marks ``mandatory: true``, in every format (each verified by an
independent library: sd-jwt, pymdoccbor, PyJWT). Malformed, repeated or contradictory descriptions are
``invalid_authorization_details`` at /authorize, PAR and the token endpoint.

The shipped PID configurations mark almost every claim mandatory (always issued), so these tests run on a copy
whose name and birth date claims are optional, and whose SD-JWT PID has an optional ``nationality`` that the
registry never holds.
"""

import json
import shutil
from pathlib import Path
from typing import Any

import cbor2
import jwt as pyjwt
import pytest
import yaml
from pymdoccbor.mdoc.verifier import MdocCbor

from app.clock import clock
from app.config import _SHIPPED_CREDENTIAL_CONFIGS
from tests.conftest import ISSUER
from tests.flows.issuance.test_issuance_authorization import (
    DETAILS_TYPE,
    login_for_code,
    redirect_error,
    request_with,
    verified_sd_jwt,
)
from tests.flows.issuance_helpers import (
    JWT_VC,
    MDOC_PID,
    SD_JWT_PID,
    HolderKey,
    Wallet,
    b64url_decode,
    iaca_roots,
    published_key,
)
from tests.flows.oidc_helpers import enroll_citizen

OPTIONAL = {"given_name", "birthdate", "birth_date"}
MDOC_NS = "eu.europa.ec.eudi.pid.1"


@pytest.fixture
def app(make_app: Any, tmp_path: Path) -> Any:
    folder = tmp_path / "configurations"
    shutil.copytree(_SHIPPED_CREDENTIAL_CONFIGS, folder)
    for path in folder.glob("*.yaml"):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if raw["id"] not in (SD_JWT_PID, MDOC_PID, JWT_VC):
            continue
        for claim in raw["claims"]:
            if claim["path"][-1] in OPTIONAL:
                claim["mandatory"] = False
        if raw["id"] == SD_JWT_PID:
            raw["claims"].append(
                {
                    "path": ["nationality"],
                    "source": "nationality",
                    "mandatory": False,
                    "display": [{"locale": "en", "name": "Nationality"}],
                }
            )
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    clock.reset()
    yield make_app(credential_config_dir=str(folder))
    clock.reset()


def with_claims(*entries: tuple[str, list[dict[str, Any]] | None]) -> str:
    out = []
    for config_id, claims in entries:
        detail: dict[str, Any] = {"type": DETAILS_TYPE, "credential_configuration_id": config_id}
        if claims is not None:
            detail["claims"] = claims
        out.append(detail)
    return json.dumps(out)


def tokens_for(rp: Any, citizen: Any, value: str, **exchange: str) -> dict[str, Any]:
    response = rp.exchange(rp.code_from(login_for_code(rp, citizen, scope=None, authorization_details=value)), **exchange)
    assert response.status_code == 200, response.text
    return dict(response.json())


def credential(client: Any, rp: Any, tokens: dict[str, Any], identifier: str) -> Any:
    token = {"access_token": tokens["access_token"], "token_type": tokens["token_type"]}
    return request_with(Wallet(client), token, rp, HolderKey(), credential_identifier=identifier)


def mdoc_elements(client: Any, serialised: str) -> dict[str, Any]:
    issuer_signed = cbor2.loads(b64url_decode(serialised))
    mdoc = MdocCbor()
    mdoc.loads(
        cbor2.dumps({"version": "1.0", "status": 0, "documents": [{"docType": MDOC_NS, "issuerSigned": issuer_signed}]})
    )
    assert mdoc.verify(trusted_root_certs=iaca_roots(client), verify_hashes=True) is True
    return dict(mdoc.disclosure_map[MDOC_NS])


def jwt_vc_subject(client: Any, vc: str) -> dict[str, Any]:
    header = pyjwt.get_unverified_header(vc)
    payload = pyjwt.decode(
        vc,
        pyjwt.PyJWK(published_key(client, header["kid"])),
        algorithms=["ES256"],
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    return dict(payload["vc"]["credentialSubject"])


def test_each_format_carries_the_claims_asked_for_and_the_mandatory_ones(citizen, rp, client):
    value = with_claims(
        (SD_JWT_PID, [{"path": ["given_name"]}, {"path": ["nickname"]}]),  # nickname: no such claim, not mandatory
        (MDOC_PID, [{"path": [MDOC_NS, "birth_date"], "mandatory": True}]),
        (JWT_VC, [{"path": ["credentialSubject", "given_name"]}]),
    )
    tokens = tokens_for(rp, citizen, value)
    # §6.2: the token response echoes what was granted, claims included (the unknown optional one left out)
    assert tokens["authorization_details"] == [
        {
            "type": DETAILS_TYPE,
            "credential_configuration_id": SD_JWT_PID,
            "claims": [{"path": ["given_name"], "mandatory": False}],
            "credential_identifiers": [f"{SD_JWT_PID}:0"],
        },
        {
            "type": DETAILS_TYPE,
            "credential_configuration_id": MDOC_PID,
            "claims": [{"path": [MDOC_NS, "birth_date"], "mandatory": True}],
            "credential_identifiers": [f"{MDOC_PID}:0"],
        },
        {
            "type": DETAILS_TYPE,
            "credential_configuration_id": JWT_VC,
            "claims": [{"path": ["credentialSubject", "given_name"], "mandatory": False}],
            "credential_identifiers": [f"{JWT_VC}:0"],
        },
    ]

    sd = credential(client, rp, tokens, f"{SD_JWT_PID}:0")
    assert sd.status_code == 200, sd.text
    claims = verified_sd_jwt(client, sd.json()["credentials"][0]["credential"])
    assert claims["given_name"] == "Amina"  # asked for
    assert claims["family_name"] == "Diallo" and claims["personal_administrative_number"] == citizen.uin  # mandatory
    assert "birthdate" not in claims and "sex" not in claims  # optional and not asked for

    md = credential(client, rp, tokens, f"{MDOC_PID}:0")
    assert md.status_code == 200, md.text
    elements = mdoc_elements(client, md.json()["credentials"][0]["credential"])
    assert str(elements["birth_date"]).startswith("1990-04-12") and elements["family_name"] == "Diallo"
    assert "given_name" not in elements

    vc = credential(client, rp, tokens, f"{JWT_VC}:0")
    assert vc.status_code == 200, vc.text
    subject = jwt_vc_subject(client, vc.json()["credentials"][0]["credential"])
    assert subject["given_name"] == "Amina" and subject["family_name"] == "Diallo" and "birthdate" not in subject


def test_without_claims_every_claim_is_issued(citizen, rp, client):
    tokens = tokens_for(rp, citizen, with_claims((SD_JWT_PID, None)))
    assert "claims" not in tokens["authorization_details"][0]
    answer = credential(client, rp, tokens, f"{SD_JWT_PID}:0")
    claims = verified_sd_jwt(client, answer.json()["credentials"][0]["credential"])
    assert {"given_name", "birthdate", "sex", "family_name"} <= set(claims)


def test_a_required_claim_the_issuer_does_not_hold_is_refused_at_the_credential_endpoint(citizen, rp, client):
    """The wallet "will only accept a Credential that includes this claim": issuing without it would be useless."""
    tokens = tokens_for(rp, citizen, with_claims((SD_JWT_PID, [{"path": ["nationality"], "mandatory": True}])))
    refused = credential(client, rp, tokens, f"{SD_JWT_PID}:0")
    assert refused.status_code == 400 and refused.json()["error"] == "credential_request_denied"


def test_the_token_request_may_narrow_the_claims_but_never_widen_them(app, rp, client):
    citizen = enroll_citizen(app)
    granted = with_claims((SD_JWT_PID, [{"path": ["given_name"]}, {"path": ["birthdate"]}]))
    code = rp.code_from(login_for_code(rp, citizen, scope=None, authorization_details=granted))
    wider = rp.exchange(code, authorization_details=with_claims((SD_JWT_PID, [{"path": ["sex"]}])))
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_authorization_details"
    bad = rp.exchange(code, authorization_details=with_claims((SD_JWT_PID, [{"path": []}])))
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_authorization_details"
    narrower = rp.exchange(code, authorization_details=with_claims((SD_JWT_PID, [{"path": ["birthdate"]}])))
    assert narrower.status_code == 200, narrower.text  # the refusals did not spend the code
    tokens = narrower.json()
    assert tokens["authorization_details"][0]["claims"] == [{"path": ["birthdate"], "mandatory": False}]
    claims = verified_sd_jwt(
        client, credential(client, rp, tokens, f"{SD_JWT_PID}:0").json()["credentials"][0]["credential"]
    )
    assert claims["birthdate"] == "1990-04-12" and "given_name" not in claims


BAD_CLAIMS = [
    [],  # a non-empty array
    {"path": ["given_name"]},
    ["given_name"],  # objects
    [{"mandatory": True}],  # path is REQUIRED
    [{"path": []}],  # a non-empty array
    [{"path": "given_name"}],
    [{"path": ["given_name", -1]}],  # negative integers abort
    [{"path": ["given_name", True]}],
    [{"path": ["given_name", 1.5]}],
    [{"path": ["given_name"], "mandatory": "yes"}],  # a boolean
    [{"path": ["given_name"]}, {"path": ["given_name"], "mandatory": True}],  # the same claim twice
    [{"path": ["age_equal_or_over"]}, {"path": ["age_equal_or_over", "18"]}],  # addressed by both
    [{"path": ["nationalities", None]}, {"path": ["nationalities", 0]}],  # null and an index in one array
    [{"path": ["address", "street"]}, {"path": ["address", 0]}],  # an object and an array
    [{"path": ["nickname"], "mandatory": True}],  # required, yet no claim of this credential
    [{"path": ["nickname"]}, {"path": ["degrees", None]}],  # nothing this credential holds: nothing to grant
]


@pytest.mark.parametrize("claims", BAD_CLAIMS)
def test_bad_claims_are_invalid_authorization_details_at_authorize_and_par(rp, client, claims):
    value = json.dumps([{"type": DETAILS_TYPE, "credential_configuration_id": SD_JWT_PID, "claims": claims}])
    assert redirect_error(rp.authorize(scope=None, authorization_details=value)) == "invalid_authorization_details"
    params = rp.authorize_params(scope=None, authorization_details=value)
    pushed = client.post("/oauth/par", data={**params, **rp.auth_form(ISSUER + "/oauth/par")})
    assert pushed.status_code == 400 and pushed.json()["error"] == "invalid_authorization_details"


def test_one_configuration_with_claims_is_described_once(rp):
    twice = with_claims((SD_JWT_PID, [{"path": ["given_name"]}]), (SD_JWT_PID, None))
    assert redirect_error(rp.authorize(scope=None, authorization_details=twice)) == "invalid_authorization_details"


def test_pre_authorized_token_request_with_claims(backend, client):
    created = backend.issued(
        credentialConfigurationId=SD_JWT_PID,
        claims={"family_name": "D", "given_name": "A", "birthdate": "1990-01-01", "personal_administrative_number": "1"},
    )
    wallet = Wallet(client)
    from tests.flows.issuance_helpers import code_of

    code = code_of(wallet.offer(created["offerUri"]))
    answer = wallet.token_response(code, authorization_details=with_claims((SD_JWT_PID, [{"path": ["birthdate"]}])))
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["authorization_details"][0]["claims"] == [{"path": ["birthdate"], "mandatory": False}]
    issued = wallet.credential(token, [HolderKey()], identifier=f"{SD_JWT_PID}:0")
    assert issued.status_code == 200, issued.text
    claims = verified_sd_jwt(client, issued.json()["credentials"][0]["credential"])
    assert claims["birthdate"] == "1990-01-01" and "given_name" not in claims and claims["family_name"] == "D"
