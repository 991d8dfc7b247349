"""``idbb demo``: a ready-to-try database with keys, a relying party and API clients.

Private keys of the demo clients are written to files (mode 0600) so a newcomer can sign client
assertions with ``idbb clients assertion``; re-running the demo reuses what exists.
"""

import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jwcrypto import jwk

from app.extensions import db, state
from app.models.clients import Client
from app.models.enrollment import Enrollment
from app.services import api_clients, database, keys
from app.services.enrollment import enrollments
from app.services.oidc import oidc_clients

DEMO_RP = "demo-rp"
DEMO_ADMIN = "demo-admin"
DEMO_ADMIN_BASIC = "demo-admin-basic"
DEMO_CREDENTIALS_BASIC = "demo-credentials-basic"
DEMO_DATASTORE_BASIC = "demo-datastore-basic"
DEMO_REDIRECT = "http://127.0.0.1:3000/callback"
#: Every login method the pages offer: PIN or password, one-time code, wallet QR code (alone or with a PIN).
DEMO_RP_ACRS = [
    "idbb:acr:static-code",
    "idbb:acr:generated-code",
    "idbb:acr:linked-wallet",
    "idbb:acr:linked-wallet-static-code",
]
ADMIN_SCOPES = [
    "add_oidc_client",
    "update_oidc_client",
    "read_oidc_client",
    "enroll.read",
    "enroll.write",
    "enroll.buf.read",
    "enroll.buf.write",
    "uin.generate",
    "registry.read",
    "registry.write",
    "registry.adjudicate",
    "audit.read",
    "issuance.write",
    "issuance.read",
    "issuance.revoke",
]
#: Least privilege for the credential-management calls the demo prints (OSIA CMS, GovStack block and card); the
#: lifecycle's bulk changes use demo-admin-basic's ``issuance.revoke``.
CREDENTIALS_SCOPES = [
    "cms.request.write",
    "cms.request.read",
    "cms.credential.read",
    "credential.block",
    "credential.card",
]
#: An authentic source pushing an identity mapping and a document (the datastore, issue 18): writes only.
DATASTORE_SCOPES = ["identity.write", "datastore.write"]
DEMO_SOURCE = "university.demo.idbb.invalid"
DEMO_DOCUMENT = "diploma-demo-0001"
#: Demo people enrolled through the real enrollment service (one-step, with a PIN for the login flows).
DEMO_PEOPLE = [
    {
        "firstName": "Amina",
        "lastName": "Diallo",
        "dateOfBirth": "1990-04-12",
        "gender": "F",
        "email": "amina.diallo@example.org",
        "phoneNumber": "+221700000001",
        "pin": "482913",
    },
    {
        "firstName": "Kofi",
        "lastName": "Mensah",
        "dateOfBirth": "1985-11-30",
        "gender": "M",
        "email": "kofi.mensah@example.org",
        "phoneNumber": "+233200000002",
        "pin": "731406",
    },
]


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _key_file(folder: Path, name: str, kty: str) -> jwk.JWK:
    path = folder / f"{name}.private.jwk.json"
    if path.exists():
        return jwk.JWK.from_json(path.read_text(encoding="utf-8"))
    key = jwk.JWK.generate(kty="RSA", size=2048) if kty == "RSA" else jwk.JWK.generate(kty="EC", crv="P-256")
    _write_private(path, key.export_private())
    return key


def seed(folder: Path, *, idbb: str = "idbb") -> str:
    """Migrate, create keys and demo clients (idempotent); return a report for the terminal, whose commands
    run ``idbb`` as the given command line (the demo's own executable: its venv may not be on PATH)."""
    database.upgrade(db.engine)
    keys.ensure_keys(actor="demo")
    issuer = state().settings.issuer
    rp_key = _key_file(folder, DEMO_RP, "RSA")
    rp = {
        "clientId": DEMO_RP,
        "clientName": "Demo public service",
        "relyingPartyId": "demo-ministry",
        "logoUri": "https://demo.idbb.invalid/logo.png"
        if state().settings.profile == "production"
        else f"{issuer}/ui/static/demo-rp-logo.svg",
        "redirectUris": [DEMO_REDIRECT],
        "authContextRefs": DEMO_RP_ACRS,
        "publicKey": rp_key.export_public(as_dict=True),
        "userClaims": ["name", "birthdate", "email"],
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
    }
    existing = db.session.get(Client, DEMO_RP)
    if existing is None:
        oidc_clients.create(rp, actor="demo")
    elif existing.logo_uri != rp["logoUri"] or existing.acr_values != DEMO_RP_ACRS:
        # a demo folder made on another port (its logo URL) or by an older idbb (fewer login methods)
        oidc_clients.update(DEMO_RP, {**rp, "status": "ACTIVE"}, actor="demo")
    admin_key = _key_file(folder, DEMO_ADMIN, "EC")
    if db.session.get(Client, DEMO_ADMIN) is None:
        api_clients.register(
            DEMO_ADMIN,
            name="Demo back office",
            scopes=ADMIN_SCOPES,
            public_key=admin_key.export_public(as_dict=True),
            actor="demo",
        )
    secret_file = folder / f"{DEMO_ADMIN_BASIC}.secret"
    if db.session.get(Client, DEMO_ADMIN_BASIC) is None:
        made = api_clients.register(
            DEMO_ADMIN_BASIC,
            name="Demo back office (secret)",
            scopes=ADMIN_SCOPES,
            auth_method="client_secret_basic",
            actor="demo",
        )
        _write_private(secret_file, made.secret or "")
    secret = secret_file.read_text(encoding="utf-8").strip() if secret_file.exists() else "(see first run)"
    credentials_secret = _secret_client(folder, DEMO_CREDENTIALS_BASIC, "Demo credential office", CREDENTIALS_SCOPES)
    datastore_secret = _secret_client(folder, DEMO_DATASTORE_BASIC, "Demo authentic source", DATASTORE_SCOPES)
    people = _seed_people()
    docs = sorted(p.stem for p in Path(state().settings.openapi_dir).glob("*.yaml"))  # each is served at /docs/
    login_url, verifier = _login_url(issuer)
    return "\n".join(
        [
            "idbb demo is ready.",
            f"  issuer            {issuer}",
            f"  database          {state().settings.resolved_database_url()}",
            f"  JWKS              {issuer}/.well-known/jwks.json",
            f"  health / ready    {issuer}/health  {issuer}/ready",
            f"  metrics           {issuer}/metrics",
            "  API docs",
            *[f"    {issuer}/docs/{name}/" for name in docs],
            f"  relying party     {DEMO_RP} (private key: {folder / (DEMO_RP + '.private.jwk.json')})",
            f"  API client        {DEMO_ADMIN} scopes={' '.join(ADMIN_SCOPES)} "
            f"(private key: {folder / (DEMO_ADMIN + '.private.jwk.json')})",
            f"  API client        {DEMO_ADMIN_BASIC} secret={secret} (client_secret_basic)",
            "  get a token:",
            f"    curl -s -u {DEMO_ADMIN_BASIC}:{secret} -d grant_type=client_credentials {issuer}/oauth/token",
            *[f"  demo identity     UIN {uin}  {name}  PIN {pin}" for uin, name, pin in people],
            "  log in as a citizen: open in a browser, then log in with a UIN and PIN, a one-time code (printed in",
            "  this console) or the wallet QR code:",
            f"    {login_url}",
            f"  the browser then goes to {DEMO_REDIRECT}?code=…; within 60 s, in this folder, exchange that code:",
            *_token_request(issuer, verifier, idbb),
            *_issuance_lines(issuer, secret, people),
            *_capability_lines(
                issuer,
                {
                    DEMO_ADMIN_BASIC: secret,
                    DEMO_CREDENTIALS_BASIC: credentials_secret,
                    DEMO_DATASTORE_BASIC: datastore_secret,
                },
                people,
            ),
        ]
    )


def _secret_client(folder: Path, client_id: str, name: str, scopes: list[str]) -> str:
    """A ``client_secret_basic`` API client with only ``scopes``; its secret, written once (0600), is returned."""
    path = folder / f"{client_id}.secret"
    if db.session.get(Client, client_id) is None:
        made = api_clients.register(
            client_id, name=f"{name} (secret)", scopes=scopes, auth_method="client_secret_basic", actor="demo"
        )
        _write_private(path, made.secret or "")
    return path.read_text(encoding="utf-8").strip() if path.exists() else "(see first run)"


#: the shell variable holding each demo client's token in the printed commands
TOKEN_VARIABLES = {DEMO_ADMIN_BASIC: "TOKEN", DEMO_CREDENTIALS_BASIC: "CM_TOKEN", DEMO_DATASTORE_BASIC: "DS_TOKEN"}


@dataclass(frozen=True)
class DemoCall:
    """One API call the demo prints as a ready ``curl`` (and ``tests/flows/test_demo_calls.py`` makes, so the
    printed commands cannot rot): the client whose token it uses, the method, path and JSON body."""

    title: str
    client_id: str
    method: str
    path: str
    body: Any = None


def capability_calls(uin: str) -> list[DemoCall]:
    """The lifecycle, OSIA CMS and GovStack credential-management calls for a demo person (issue 17), and an
    authentic source's mapping, document and offer (issue 18)."""

    def envelope(request: dict[str, Any]) -> dict[str, Any]:
        return {"id": "govstack.cm", "version": "1.0", "requesttime": "2026-01-01T00:00:00.000Z", "request": request}

    request_body = {
        "personId": uin,
        "biographicData": {"firstName": DEMO_PEOPLE[0]["firstName"]},
        "requestData": {
            "priority": 1,
            "credentialProfileId": "eu.europa.ec.eudi.pid_vc_sd_jwt",
            "requestType": "FIRST_ISSUANCE",
        },
    }
    return [
        DemoCall(
            "lifecycle: suspend every credential of this person (bulk; a revocationId or credentialIds select fewer)",
            DEMO_ADMIN_BASIC,
            "POST",
            "/v1/issuance/credentials/bulk",
            {"action": "suspend", "uin": uin, "reason": "demo"},
        ),
        DemoCall(
            "lifecycle: unsuspend them",
            DEMO_ADMIN_BASIC,
            "POST",
            "/v1/issuance/credentials/bulk",
            {"action": "unsuspend", "uin": uin, "reason": "demo"},
        ),
        DemoCall(
            "OSIA CMS: request a credential (its offer is in the GET below)",
            DEMO_CREDENTIALS_BASIC,
            "POST",
            "/v1/credentialRequests/DEMO-REQ-1?transactionId=demo-1",
            request_body,
        ),
        DemoCall(
            "OSIA CMS: the request's status",
            DEMO_CREDENTIALS_BASIC,
            "GET",
            "/v1/credentialRequests/DEMO-REQ-1?transactionId=demo-2",
        ),
        DemoCall(
            "OSIA CMS: search the credentials of this person",
            DEMO_CREDENTIALS_BASIC,
            "POST",
            "/v1/credentials?transactionId=demo-3",
            [{"attributeName": "personId", "operator": "=", "value": uin}],
        ),
        DemoCall(
            "GovStack: download the personalized card (PDF, base64 in the envelope)",
            DEMO_CREDENTIALS_BASIC,
            "POST",
            "/download/personalized-card",
            envelope({"individualId": uin}),
        ),
        DemoCall(
            "GovStack: block every credential of this person",
            DEMO_CREDENTIALS_BASIC,
            "POST",
            "/block",
            envelope({"id": uin}),
        ),
        DemoCall("GovStack: unblock them", DEMO_CREDENTIALS_BASIC, "POST", "/unblock", envelope({"id": uin})),
        DemoCall(
            "datastore: the authentic source maps its person to the attributes it knows",
            DEMO_DATASTORE_BASIC,
            "POST",
            "/api/v1/identity/mapping",
            {
                "authentic_source": DEMO_SOURCE,
                "authentic_source_person_id": "STUDENT-0001",
                "attributes": {
                    "family_name": DEMO_PEOPLE[0]["lastName"],
                    "given_name": DEMO_PEOPLE[0]["firstName"],
                    "birth_date": DEMO_PEOPLE[0]["dateOfBirth"],
                },
            },
        ),
        DemoCall(
            "datastore: and uploads a diploma for that person",
            DEMO_DATASTORE_BASIC,
            "POST",
            "/api/v1/datastore/",
            {
                "meta": {"authentic_source": DEMO_SOURCE, "scope": "diploma", "document_id": DEMO_DOCUMENT},
                "identity_mapping_ids": ["STUDENT-0001"],
                "document_data": {"degree_type": "Bachelor of Science", "field_of_study": "Computer Science"},
            },
        ),
        DemoCall(
            "datastore: a credential offer for the document (open offerPage, or scan qrCode)",
            DEMO_ADMIN_BASIC,
            "POST",
            "/v1/issuance",
            {
                "credentialConfigurationId": "diploma",
                "subject": {"authentic_source": DEMO_SOURCE, "scope": "diploma", "document_id": DEMO_DOCUMENT},
            },
        ),
    ]


def _capability_lines(issuer: str, secrets_by_client: dict[str, str], people: list[tuple[str, str, str]]) -> list[str]:
    uin = next((u for u, _, _ in people if u.isdigit()), "UIN")
    out = [
        "  credential management for the first person above (token of the client named; "
        f"{DEMO_CREDENTIALS_BASIC} scopes={' '.join(CREDENTIALS_SCOPES)}, "
        f"{DEMO_DATASTORE_BASIC} scopes={' '.join(DATASTORE_SCOPES)}):"
    ]
    for client_id, secret in secrets_by_client.items():
        variable = TOKEN_VARIABLES[client_id]
        out.append(
            f"    {variable}=$(curl -s -u {client_id}:{secret} -d grant_type=client_credentials {issuer}/oauth/token"
            " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
        )
    for call in capability_calls(uin):
        variable = TOKEN_VARIABLES[call.client_id]
        command = f'    curl -s -X {call.method} -H "Authorization: Bearer ${variable}"'
        if call.body is not None:
            command += f" -H 'Content-Type: application/json' -d '{json.dumps(call.body)}'"
        out += [f"  # {call.title}", f"{command} '{issuer}{call.path}'"]
    return out


def _token_request(issuer: str, verifier: str, idbb: str) -> list[str]:
    """The token request (RFC 6749 §4.1.3) for the printed login URL: its PKCE verifier, and a fresh
    ``private_key_jwt`` assertion signed with demo-rp's key by ``idbb clients assertion`` when it runs."""
    return [
        "    CODE='paste the code here'",
        f'    curl -s {issuer}/oauth/token -d grant_type=authorization_code -d "code=$CODE" \\',
        f"      -d redirect_uri={shlex.quote(DEMO_REDIRECT)} -d code_verifier={verifier} -d client_id={DEMO_RP} \\",
        "      -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \\",
        f'      -d "client_assertion=$({idbb} clients assertion {DEMO_RP})"',
    ]


def _login_url(issuer: str) -> tuple[str, str]:
    """An authorization request for the demo relying party, and the verifier of its fresh PKCE pair (RFC 7636)."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import urlencode

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode(
        {
            "client_id": DEMO_RP,
            "redirect_uri": DEMO_REDIRECT,
            "response_type": "code",
            "scope": "openid profile email",
            "state": "demo",
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{issuer}/authorize?{query}", verifier


def _seed_people() -> list[tuple[str, str, str]]:
    from sqlalchemy import select

    from app.models.registry import Identity

    out = []
    for n, person in enumerate(DEMO_PEOPLE, start=1):
        enrollment_id = f"DEMO-{n:04d}"
        if db.session.get(Enrollment, enrollment_id) is None:
            biographic = {k: v for k, v in person.items() if k != "pin"}
            enrollments.create(
                enrollment_id,
                {
                    "enrollmentType": "CITIZEN",
                    "biographicData": biographic,
                    "requestData": {"requestType": "FIRST_ISSUANCE", "credentials": {"pin": person["pin"]}},
                },
                finalize=True,
                client_id=DEMO_ADMIN,
                transaction_id="demo-seed",
            )
        enrollment = db.session.get(Enrollment, enrollment_id)
        uin = "(pending duplicate check)"
        if enrollment is not None and enrollment.identity_id:
            uin = db.session.execute(select(Identity.uin).where(Identity.identity_id == enrollment.identity_id)).scalar_one()
        out.append((uin, f"{person['firstName']} {person['lastName']}", person["pin"]))
    return out


def _issuance_lines(issuer: str, secret: str, people: list[tuple[str, str, str]]) -> list[str]:
    """Credential issuance (issue 16): the configurations, the IACA, and a ready ``curl`` creating an offer."""
    from app.services.issuance import signers
    from app.services.issuance.configurations import configured
    from app.services.transaction import atomic

    with atomic():
        signers.iaca()  # the mdoc root exists before the first mdoc is asked for
    uin = next((u for u, _, _ in people if u.isdigit()), "UIN")
    body = json.dumps(
        {
            "credentialConfigurationId": "eu.europa.ec.eudi.pid_vc_sd_jwt",
            "subject": {"uin": uin},
            "txCode": {"length": 6, "delivery": "response"},
        }
    )
    return [
        f"  credential issuer {issuer}/.well-known/openid-credential-issuer "
        f"(configurations: {', '.join(sorted(configured()))})",
        f"  mdoc IACA         {issuer}/mdoc/iacas",
        "  create a credential offer for the first person above (open offerPage, or scan qrCode with a wallet):",
        f"    TOKEN=$(curl -s -u {DEMO_ADMIN_BASIC}:{secret} -d grant_type=client_credentials {issuer}/oauth/token"
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f"    curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{body}' "
        f"{issuer}/v1/issuance",
    ]
