"""The OpenAPI documents in openapi/ against app/api, and the GovStack/eSignet paths idbb claims.

ARCHITECTURE.md: every operation has an ``operationId`` resolving into ``app/api``, checked both
ways, and every GovStack / eSignet path we claim is present with GovStack's methods.
"""

import importlib
import inspect
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "openapi"
GOVSTACK_DIR = Path("/work/shared/specs/govstack/api/connexion-oas3.0-sanitized")
GOVSTACK_IDP = GOVSTACK_DIR / "Identity-Provider.oas30.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

CLAIMED = {
    "/client-mgmt/oidc-client": {"post"},
    "/client-mgmt/oidc-client/{client_id}": {"put", "get"},
    "/.well-known/jwks.json": {"get"},
    "/oauth/token": {"post"},
    "/oauth/v2/token": {"post"},
    "/oauth/par": {"post"},
    "/oidc/userinfo": {"get", "post"},
    "/.well-known/openid-configuration": {"get"},
    "/health": {"get"},
    "/ready": {"get"},
    "/metrics": {"get"},
    "/linked-authorization/link-code": {"post"},
    "/linked-authorization/link-status": {"post"},
    "/linked-authorization/link-auth-code": {"post"},
    "/linked-authorization/link-transaction": {"post"},
    "/linked-authorization/authenticate": {"post"},
    "/linked-authorization/consent": {"post"},
    "/wallet-binding": {"post"},
}


def load(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    assert isinstance(document, dict), f"{path} is not a YAML mapping"
    return document


SPEC_FILES = sorted([*OPENAPI.rglob("*.yaml"), *OPENAPI.rglob("*.yml")])


@pytest.fixture(scope="module")
def specs() -> dict[str, dict]:
    assert SPEC_FILES, "no OpenAPI documents found in openapi/"
    return {str(path.relative_to(ROOT)): load(path) for path in SPEC_FILES}


def operations(document: dict):
    """(path, method, path-item, operation) for every operation of a document."""
    for path, item in (document.get("paths") or {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item, item[method]


@pytest.fixture(scope="module")
def all_operations(specs):
    found = []
    for name, document in specs.items():
        for path, method, item, operation in operations(document):
            found.append((name, path, method, item, operation, document))
    assert found, "the specs define no operations"
    return found


@pytest.fixture(scope="module")
def our_paths(specs) -> dict[str, set[str]]:
    paths: dict[str, set[str]] = {}
    for document in specs.values():
        for path, method, _, _ in operations(document):
            paths.setdefault(path, set()).add(method)
    return paths


def resolve(dotted: str):
    module_name, _, attribute = dotted.rpartition(".")
    assert module_name, f"{dotted!r} is not module.function"
    module = importlib.import_module(module_name)
    assert hasattr(module, attribute), f"{module_name} has no {attribute}"
    return getattr(module, attribute)


# --- every document ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_spec_is_openapi_3(path):
    document = load(path)
    assert str(document.get("openapi", "")).startswith("3."), f"{path.name}: not an OpenAPI 3 document"
    assert "info" in document


def test_every_operation_has_a_unique_operation_id_in_app_api(all_operations):
    seen: dict[str, str] = {}
    for name, path, method, _, operation, _ in all_operations:
        op_id = operation.get("operationId")
        assert op_id, f"{name}: {method.upper()} {path} has no operationId"
        assert op_id.startswith("app.api."), f"{name}: {op_id} does not resolve into app/api"
        assert op_id not in seen, f"{op_id} used by {seen[op_id]} and {method.upper()} {path}"
        seen[op_id] = f"{method.upper()} {path}"


def test_every_operation_id_resolves_to_a_callable(all_operations):
    for name, path, method, _, operation, _ in all_operations:
        handler = resolve(operation["operationId"])
        where = f"{name}: {operation['operationId']} ({method.upper()} {path})"
        assert callable(handler), f"{where} is not callable"
        assert inspect.isfunction(handler), f"{operation['operationId']} should be a plain function"


def test_every_handler_in_a_handler_module_is_named_by_an_operation_id(all_operations):
    """Both ways: no public function of a handler module is unreachable from the specs."""
    named = {operation["operationId"] for *_, operation, _ in all_operations}
    modules = {op_id.rpartition(".")[0] for op_id in named}
    assert modules
    for module_name in sorted(modules):
        module = importlib.import_module(module_name)
        for attribute, value in vars(module).items():
            if attribute.startswith("_") or not inspect.isfunction(value) or value.__module__ != module_name:
                continue
            assert f"{module_name}.{attribute}" in named, (
                f"{module_name}.{attribute} is a public handler-module function no operationId names"
            )


def _accepts(handler, parameter: str) -> bool:
    signature = inspect.signature(handler)
    if parameter in signature.parameters:
        return True
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())


def test_handlers_accept_their_path_parameters_and_body(all_operations):
    for _, path, method, item, operation, _ in all_operations:
        handler = resolve(operation["operationId"])
        parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
        for parameter in parameters:
            if "$ref" in parameter or parameter.get("in") != "path":
                continue
            assert _accepts(handler, parameter["name"]), (
                f"{operation['operationId']} ({method.upper()} {path}) ignores {parameter['name']}"
            )
        content = (operation.get("requestBody") or {}).get("content", {})
        if "application/json" in content:
            assert _accepts(handler, "body"), f"{operation['operationId']} does not take the JSON body"


def test_path_templates_declare_their_parameters(all_operations):
    for _, path, method, item, operation, _ in all_operations:
        declared = {
            p.get("name") for p in [*item.get("parameters", []), *operation.get("parameters", [])] if p.get("in") == "path"
        }
        template = {segment[1:-1] for segment in path.split("/") if segment.startswith("{")}
        assert template == declared, f"{method.upper()} {path}: template {template} vs declared {declared}"


def test_security_schemes_resolve(specs):
    for name, document in specs.items():
        for scheme_name, scheme in (document.get("components", {}).get("securitySchemes") or {}).items():
            if scheme.get("type") == "oauth2":
                # without x-tokenInfoFunc Connexion cannot check the token at all
                assert "x-tokenInfoFunc" in scheme, f"{name}: {scheme_name} has no x-tokenInfoFunc"
            for key in ("x-tokenInfoFunc", "x-bearerInfoFunc", "x-apikeyInfoFunc", "x-basicInfoFunc"):
                if key in scheme:
                    assert callable(resolve(scheme[key])), f"{name}: {scheme_name} {key} does not resolve"


# --- claimed paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "methods"), sorted(CLAIMED.items()))
def test_claimed_paths_exist(our_paths, path, methods):
    assert path in our_paths, f"{path} is claimed but not in openapi/"
    assert methods <= our_paths[path], f"{path}: missing {sorted(methods - our_paths[path])}"


def test_govstack_methods_are_present_for_shared_paths(our_paths):
    govstack = load(GOVSTACK_IDP)
    gov_paths = {path: {m for m in METHODS if m in item} for path, item in govstack["paths"].items()}
    shared = set(gov_paths) & set(our_paths)
    # the comparison must cover what idbb claims from GovStack, or it proves nothing
    assert {
        "/client-mgmt/oidc-client",
        "/client-mgmt/oidc-client/{client_id}",
        "/oauth/token",
        "/.well-known/jwks.json",
    } <= shared
    missing = {path: sorted(gov_paths[path] - our_paths[path]) for path in shared if gov_paths[path] - our_paths[path]}
    assert missing == {}, f"GovStack methods missing from idbb: {missing}"


@pytest.mark.parametrize("path", sorted(GOVSTACK_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_other_govstack_documents_shared_paths(our_paths, path):
    govstack = load(path)
    for gov_path, item in (govstack.get("paths") or {}).items():
        if gov_path in our_paths:
            gov_methods = {m for m in METHODS if m in item}
            missing = gov_methods - our_paths[gov_path]
            assert not missing, f"{path.name} {gov_path}: {sorted(missing)} missing"


# --- security on the administrative API -------------------------------------------------------


def test_client_mgmt_operations_declare_scoped_security(all_operations):
    client_mgmt = [entry for entry in all_operations if entry[1].startswith("/client-mgmt")]
    assert len(client_mgmt) >= 3
    for name, path, method, _, operation, document in client_mgmt:
        where = f"{name}: {method.upper()} {path}"
        security = operation.get("security", document.get("security"))
        assert security, f"{where} declares no security"
        schemes = document.get("components", {}).get("securitySchemes", {})
        for requirement in security:
            assert requirement, f"{where} has an empty (anonymous) security requirement"
            for scheme_name, scopes in requirement.items():
                assert scheme_name in schemes, f"{where}: unknown security scheme {scheme_name}"
                assert scopes, f"{where}: {scheme_name} requires no scope"
                scheme = schemes[scheme_name]
                assert scheme.get("type") == "oauth2", f"{where}: scopes need an oauth2 scheme"
                declared = set()
                for flow in scheme.get("flows", {}).values():
                    declared |= set(flow.get("scopes", {}))
                assert set(scopes) <= declared, f"{where}: scopes {set(scopes) - declared} are not declared"


def test_client_mgmt_scopes_match_govstack(all_operations):
    """GovStack names the scopes add_oidc_client (POST) and update_oidc_client (PUT)."""
    scopes = {}
    for _, path, method, _, operation, _ in all_operations:
        scopes[(method, path)] = {s for req in operation.get("security", []) for v in req.values() for s in v}
    assert scopes[("post", "/client-mgmt/oidc-client")] == {"add_oidc_client"}
    assert scopes[("put", "/client-mgmt/oidc-client/{client_id}")] == {"update_oidc_client"}
