"""Issue 14's robustness findings against a real ``idbb serve`` (uvicorn), sent byte for byte as curl did."""

import base64
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import Server, serve_idbb


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve_idbb(Path(tmp_path_factory.mktemp("live")), ["idbb:acr:static-code"]) as server:
        yield server


def _send(
    server: Server, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    url = urlsplit(server.issuer)
    conn = http.client.HTTPConnection("127.0.0.1", url.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_non_utf8_json(live):
    status, _, body = _send(live, "POST", "/linked-authorization/link-status", b"\xbf", JSON)
    assert status == 200 and json.loads(body)["errors"][0]["errorCode"] == "invalid_request"


def test_newline_in_a_path_parameter_meets_its_security_check(live):
    status, _, _ = _send(live, "GET", "/registry/identities/a%0Ab")
    assert status == 401


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/v2/token", "/oauth/par", "/oauth/introspect", "/oauth/revoke"])
def test_repeated_non_ascii_parameter(live, path):
    status, _, body = _send(live, "POST", path, b"grant_type=client_credentials&%C3%A9=1&%C3%A9=2", FORM)
    assert status == 400 and json.loads(body)["error"] == "invalid_request"


def test_deep_json(live):
    status, _, body = _send(live, "POST", "/linked-authorization/link-status", b"[" * 10000 + b"]" * 10000, JSON)
    assert status == 200 and json.loads(body)["errors"][0]["errorCode"] == "invalid_request"


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/par"])
def test_form_field_over_a_mebibyte(live, path):
    status, _, body = _send(live, "POST", path, b"grant_type=client_credentials&x=" + b"a" * (1 << 20), FORM)
    assert status == 413 and json.loads(body)["error"] == "invalid_request"


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/par"])
def test_basic_credentials_not_utf8(live, path):
    status, headers, body = _send(
        live, "POST", path, b"grant_type=client_credentials&token=x", {**FORM, "Authorization": "Basic //46eA=="}
    )
    assert status == 401 and json.loads(body)["error"] == "invalid_client"
    assert headers["www-authenticate"].startswith("Basic ")


def test_405_carries_allow(live):
    status, headers, _ = _send(live, "DELETE", "/oidc/userinfo")
    assert status == 405 and set(headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}


def test_nul_in_a_query(live):
    status, _, _ = _send(live, "GET", "/authorize?client_id=a%00b&response_type=code")
    assert status == 400


def test_assertion_nested_deep(live):
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    assertion = ".".join([b64(b'{"alg":"RS256"}'), b64(b'{"a":' + b"[" * 10000 + b"]" * 10000 + b"}"), b64(b"s")])
    form = (
        "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-"
        f"type%3Ajwt-bearer&client_assertion={assertion}"
    ).encode()
    status, _, body = _send(live, "POST", "/oauth/token", form, FORM)
    assert status in (400, 401) and json.loads(body)["error"] == "invalid_client"
