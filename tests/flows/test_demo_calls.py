"""The credential-management commands ``idbb demo`` prints (lifecycle, OSIA CMS, GovStack credential management,
the datastore)
are parsed from the printed text and sent, with the printed clients' tokens, to an app the demo seeded: each
answers 2xx, so the printed curls cannot rot."""

import json
import re
from typing import Any

from app.services.ops import demo
from tests.conftest import ISSUER

TOKEN_LINE = re.compile(r"^\s+(\w+)=\$\(curl -s -u ([^:\s]+):(\S+) -d grant_type=client_credentials (\S+)/oauth/token")
CALL_LINE = re.compile(
    r"^\s+curl -s -X (\w+) -H \"Authorization: Bearer \$(\w+)\"(?: -H 'Content-Type: application/json' -d '(.*)')? '(\S+)'$"
)


def test_every_printed_credential_management_command_succeeds(app, client, tmp_path):
    with app.app.app_context():
        report = demo.seed(tmp_path)
    tokens: dict[str, str] = {}
    calls: list[tuple[str, str, Any, str]] = []
    for line in report.splitlines():
        if found := TOKEN_LINE.match(line):
            variable, client_id, secret, issuer = found.groups()
            assert issuer == ISSUER
            answer = client.post("/oauth/token", auth=(client_id, secret), data={"grant_type": "client_credentials"})
            assert answer.status_code == 200, answer.text
            tokens[variable] = answer.json()["access_token"]
        elif found := CALL_LINE.match(line):
            method, variable, body, url = found.groups()
            calls.append((method, variable, json.loads(body) if body else None, url))
    titles = [line for line in report.splitlines() if line.startswith("  # ")]
    assert len(calls) == len(titles) == len(demo.capability_calls("x")) >= 8
    paths = {url.removeprefix(ISSUER).split("?")[0] for _, _, _, url in calls}
    assert {"/v1/issuance/credentials/bulk", "/block", "/unblock", "/download/personalized-card"} <= paths
    assert "/v1/credentialRequests/DEMO-REQ-1" in paths and "/v1/credentials" in paths
    assert {"/api/v1/identity/mapping", "/api/v1/datastore/", "/v1/issuance"} <= paths
    for method, variable, body, url in calls:
        assert url.startswith(ISSUER)
        response = client.request(
            method, url.removeprefix(ISSUER), json=body, headers={"Authorization": f"Bearer {tokens[variable]}"}
        )
        assert 200 <= response.status_code < 300, (method, url, response.text[:300])


def test_the_credential_client_has_only_the_scopes_its_commands_need(app, tmp_path):
    with app.app.app_context():
        report = demo.seed(tmp_path)
    broad = {"issuance.write", "issuance.revoke", "add_oidc_client", "enroll.write", "registry.write"}
    for client_id, scopes in (
        (demo.DEMO_CREDENTIALS_BASIC, demo.CREDENTIALS_SCOPES),
        (demo.DEMO_DATASTORE_BASIC, demo.DATASTORE_SCOPES),
    ):
        assert client_id in report and not broad & set(scopes)
        assert oct((tmp_path / f"{client_id}.secret").stat().st_mode & 0o777) == "0o600"
