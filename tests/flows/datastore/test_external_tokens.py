"""External-issuer tokens for the datastore API (issue 18, seed 000 "API Authentication"): a small JWKS server in
the test (``http.server`` in a thread), tokens signed with PyJWT, verified by idbb (jwcrypto) with ``iss`` and
``aud`` checked; SPOCP-style rules allow and refuse by method, path, subject, authentic source and scope; keys are
fetched again on an unknown ``kid`` no more often than the minimum refresh interval; OIDC discovery finds the keys
of an issuer; HTTP Basic works only where the deployment chose it."""

import copy
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from tests.api.datastore import seed
from tests.conftest import ISSUER

AUDIENCE = "vc-issuer"
RULES = "\n".join(
    [
        "(vc (service apigw)(method POST)(path /api/v1/datastore/)(subject hr-system)(authentic_source SUNET)"
        "(scope diploma))",
        "(vc (service apigw)(method DELETE)(path /api/v1/datastore)(subject hr-admin@example.org)(authentic_source *)"
        "(scope *))",
    ]
)


class AuthServer:
    """An authorization server's key set (and OIDC metadata) on 127.0.0.1; counts the key set fetches."""

    def __init__(self) -> None:
        self.keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": server.url, "jwks_uri": server.url + "/jwks.json"}
                elif self.path == "/jwks.json":
                    server.fetches += 1
                    body = {
                        "keys": [
                            {**ECAlgorithm.to_jwk(k.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": "ES256"}
                            for kid, k in server.keys.items()
                        ]
                    }
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add_key(self) -> str:
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        return kid

    def token(self, kid: str, *, key: ec.EllipticCurvePrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": AUDIENCE, "sub": "opaque-123", "iat": now, "exp": now + 300, **claims}
        return pyjwt.encode(
            {k: v for k, v in body.items() if v is not None}, key or self.keys[kid], algorithm="ES256", headers={"kid": kid}
        )

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[AuthServer]:
    s = AuthServer()
    yield s
    s.stop()


def _http(make_app: Any, server: AuthServer, **changes: Any) -> Any:
    settings = {
        "datastore_auth": "jwks",
        "datastore_jwks_url": server.url + "/jwks.json",
        "datastore_token_issuer": server.url,
        "datastore_token_audience": AUDIENCE,
        "datastore_jwks_min_refresh": 0,
        **changes,
    }
    return make_app(**settings).test_client(base_url=ISSUER)


def _doc(source: str = "SUNET", scope: str = "diploma") -> dict[str, Any]:
    body = copy.deepcopy(seed.DIPLOMA)
    body["meta"].update(authentic_source=source, scope=scope)
    return body


def _code(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_rules_allow_and_refuse_by_method_path_subject_source_and_scope(make_app: Any, server: AuthServer) -> None:
    http = _http(make_app, server, datastore_rules=RULES)
    kid = server.add_key()
    hr = {"Authorization": "Bearer " + server.token(kid, eppn="hr-system")}
    assert http.post("/api/v1/datastore/", json=_doc(), headers=hr).status_code == 200
    assert _code(http.post("/api/v1/datastore/", json=_doc("OTHER"), headers=hr)) == (403, "FORBIDDEN")
    assert _code(http.post("/api/v1/datastore/", json=_doc(scope="pid"), headers=hr)) == (403, "FORBIDDEN")
    assert _code(http.put("/api/v1/datastore/", json=_doc(), headers=hr)) == (403, "FORBIDDEN")  # method
    bulk = {"documents": {"d": _doc()}}
    assert _code(http.post("/api/v1/datastore/bulk", json=bulk, headers=hr)) == (403, "FORBIDDEN")  # path
    intruder = {"Authorization": "Bearer " + server.token(kid, eppn="intruder")}
    assert _code(http.post("/api/v1/datastore/", json=_doc(), headers=intruder)) == (403, "FORBIDDEN")  # subject
    # the subject is eppn or email, never sub
    by_sub = {"Authorization": "Bearer " + server.token(kid, sub="hr-system")}
    assert _code(http.post("/api/v1/datastore/", json=_doc(), headers=by_sub)) == (403, "FORBIDDEN")
    key = {**seed.DIPLOMA_KEY, "authentic_source": "SUNET"}
    assert _code(http.request("DELETE", "/api/v1/datastore", json=key, headers=hr)) == (403, "FORBIDDEN")
    admin = {"Authorization": "Bearer " + server.token(kid, email="hr-admin@example.org")}
    assert http.request("DELETE", "/api/v1/datastore", json=key, headers=admin).status_code == 200


def test_wrong_aud_iss_unknown_key_or_expired_is_unauthorized(make_app: Any, server: AuthServer) -> None:
    http = _http(make_app, server)  # no rules: any valid token may call every operation
    kid = server.add_key()
    good = server.token(kid, eppn="anyone")
    assert http.post("/api/v1/datastore/", json=_doc(), headers={"Authorization": "Bearer " + good}).status_code == 200
    stranger = ec.generate_private_key(ec.SECP256R1())
    for token in (
        server.token(kid, aud="someone-else"),
        server.token(kid, iss="https://evil.example"),
        server.token("unknown-kid", key=stranger),
        server.token(kid, key=stranger),
        server.token(kid, exp=int(time.time()) - 120),
        pyjwt.encode({"iss": server.url}, "s", "HS256"),
    ):
        answer = http.get("/api/v1/datastore/", params=seed.DIPLOMA_KEY, headers={"Authorization": "Bearer " + token})
        assert _code(answer) == (401, "UNAUTHORIZED"), token


def test_unknown_kid_refetches_at_most_once_per_interval(make_app: Any, server: AuthServer) -> None:
    kid = server.add_key()
    http = _http(make_app, server, datastore_jwks_min_refresh=3600)
    headers = {"Authorization": "Bearer " + server.token(kid, eppn="a")}
    assert http.get("/api/v1/datastore/search", params={"authentic_source": "x"}, headers=headers).status_code == 200
    assert server.fetches == 1
    rotated = server.add_key()  # a new key: within the interval it is not fetched, so the token is refused
    for _ in range(3):
        answer = http.get(
            "/api/v1/datastore/search",
            params={"authentic_source": "x"},
            headers={"Authorization": "Bearer " + server.token(rotated, eppn="a")},
        )
        assert _code(answer) == (401, "UNAUTHORIZED")
    assert server.fetches == 1


def test_key_rotation_is_picked_up_on_an_unknown_kid(make_app: Any, server: AuthServer) -> None:
    first = server.add_key()
    http = _http(make_app, server)
    search = {"authentic_source": "x"}
    assert (
        http.get(
            "/api/v1/datastore/search", params=search, headers={"Authorization": "Bearer " + server.token(first, eppn="a")}
        ).status_code
        == 200
    )
    second = server.add_key()
    assert (
        http.get(
            "/api/v1/datastore/search", params=search, headers={"Authorization": "Bearer " + server.token(second, eppn="a")}
        ).status_code
        == 200
    )
    assert server.fetches == 2


def test_oidc_discovery_finds_the_issuers_keys(make_app: Any, server: AuthServer) -> None:
    kid = server.add_key()
    http = make_app(datastore_auth="oidc", datastore_oidc_issuer=server.url, datastore_token_audience=AUDIENCE).test_client(
        base_url=ISSUER
    )
    ok = http.post(
        "/api/v1/identity/mapping",
        json=seed.ALICE_MAPPING,
        headers={"Authorization": "Bearer " + server.token(kid, email="hr@example.org")},
    )
    assert ok.status_code == 200 and ok.json() == {"authentic_source_person_id": "EMP-12345"}
    wrong = http.post(
        "/api/v1/identity/mapping/resolve",
        json=seed.ALICE_RESOLVE,
        headers={"Authorization": "Bearer " + server.token(kid, iss=server.url + "/other")},
    )
    assert _code(wrong) == (401, "UNAUTHORIZED")


def test_basic_only_where_chosen_and_never_in_production(make_app: Any, api_client: Any) -> None:
    from app.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="basic"):
        Settings(profile="production", issuer=ISSUER, kek="x" * 43, datastore_auth="basic").validate()
    cx = make_app(profile="development", datastore_auth="basic")
    http = cx.test_client(base_url=ISSUER)
    from app.services import api_clients

    with cx.app.app_context():
        made = api_clients.register(
            "hr-basic",
            name="HR",
            scopes=["datastore.write", "datastore.read"],
            auth_method="client_secret_basic",
            actor="test",
        )
    assert http.post("/api/v1/datastore/", json=seed.DIPLOMA, auth=("hr-basic", made.secret)).status_code == 200
    assert _code(http.post("/api/v1/datastore/", json=seed.DIPLOMA, auth=("hr-basic", "wrong"))) == (401, "UNAUTHORIZED")
    bearer_token = {"Authorization": "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln"}
    assert _code(http.get("/api/v1/datastore/", params=seed.DIPLOMA_KEY, headers=bearer_token)) == (401, "UNAUTHORIZED")
