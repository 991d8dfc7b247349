"""Every API shares the base path: each one's operations and documentation must be reachable (app/routing.py)."""

import re

import pytest
import yaml

from app import SPECS

APIS = (*SPECS, "linked-authorization")


@pytest.mark.parametrize("name", APIS)
def test_every_api_serves_its_document_and_its_swagger_ui(client, settings, name):
    with open(f"{settings.openapi_dir}/{name}.yaml", encoding="utf-8") as fh:
        title = yaml.safe_load(fh)["info"]["title"]
    spec = client.get(f"/docs/{name}/openapi.json")
    assert spec.status_code == 200, spec.text[:200]
    assert spec.json()["info"]["title"] == title
    ui = client.get(f"/docs/{name}/")
    assert ui.status_code == 200 and "swagger" in ui.text.lower()


@pytest.mark.parametrize("name", APIS)
def test_every_api_routes_its_first_operation_to_connexion(client, settings, name):
    """An operation reaches Connexion's validation (never Flask's bare 404) whatever the API's place."""
    with open(f"{settings.openapi_dir}/{name}.yaml", encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    # a path without parameters, else the first one with each parameter a value no pattern takes: either
    # way the request must meet Connexion's validation (400), not fall through to a bare 404
    path, item = next(((p, i) for p, i in spec["paths"].items() if "{" not in p), next(iter(spec["paths"].items())))
    path = re.sub(r"\{[^}]+\}", "%21", path)
    method = next(m for m in ("get", "post", "put", "patch", "delete") if m in item)
    response = client.request(method.upper(), path, content=b"\x00not json", headers={"Content-Type": "application/json"})
    assert response.status_code not in (404, 500), (method, path, response.status_code, response.text[:200])


def test_a_path_no_api_or_page_has_is_404_and_a_wrong_method_is_405(client):
    assert client.get("/no-such-path").status_code == 404
    assert client.get("/docs-not-really/openapi.json").status_code == 404
    assert client.delete("/oauth/token").status_code == 405


def test_behind_a_path_stripping_proxy_the_documentation_and_the_api_are_reached(app):
    """ASGI puts the server's ``root_path`` (``--root-path /idbb``) in ``path`` too; routers match without it."""
    behind = app.test_client(base_url="https://id.example.gov", root_path="/idbb")
    spec = behind.get("/idbb/docs/oidc/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"]
    assert behind.get("/idbb/docs/oidc/").status_code == 200
    assert behind.get("/idbb/health").status_code == 200
