"""The layering rules of docs/architecture.md ("What may import what"), checked by an AST import scan.

Every ``import``/``from ... import`` (relative ones resolved, ``TYPE_CHECKING`` blocks included) and
every attribute use through an imported name (``flask.request.args``, ``fl.g``) is turned into a
dotted name; each layer has rules over those names. Issue 15 added: services know no HTTP, stores build
only on models/extensions/config/formats/errors, no private names across service packages, which
capability package may import which, and no import circles anywhere in ``app/`` (a graph over modules).
Every rule has a self-check that feeds it a violation, so none can pass by seeing nothing.
"""

import ast
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}


@dataclass(frozen=True)
class Use:
    name: str  # dotted, e.g. "flask.request", "app.models.clients.Client"
    line: int


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _resolve_from(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _attribute_chain(node: ast.Attribute) -> tuple[str, list[str]] | None:
    parts: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    return current.id, list(reversed(parts))


def scan(source: str, module: str, is_package: bool = False) -> list[Use]:
    """Every module or object the source reaches through imports, as dotted names."""
    tree = ast.parse(source)
    bound: dict[str, str] = {}  # local name -> dotted name it stands for
    uses: list[Use] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                uses.append(Use(alias.name, node.lineno))
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    root = alias.name.partition(".")[0]
                    bound[root] = root
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(node, module, is_package)
            uses.append(Use(base, node.lineno))
            for alias in node.names:
                if alias.name == "*":
                    continue
                full = f"{base}.{alias.name}"
                uses.append(Use(full, node.lineno))
                bound[alias.asname or alias.name] = full
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain = _attribute_chain(node)
            if chain and chain[0] in bound:
                uses.append(Use(".".join([bound[chain[0]], *chain[1]]), node.lineno))
    return uses


# --- rules: each returns a reason when a dotted name is not allowed in its layer ---------------

Rule = Callable[[str], str | None]


HANDLER_ALLOWED_APP = ("app.services", "app.errors", "app.config", "app.extensions.state")
HANDLER_BANNED = ("app.models", "app.extensions.db", "sqlalchemy", "flask_sqlalchemy")


def handler_rule(layer: str, *, banned: tuple[str, ...] = (), extra_allowed: tuple[str, ...] = ()) -> Rule:
    """Handlers (API operations, and the browser pages) are thin: services, errors, config, never the database."""

    def rule(name: str) -> str | None:
        for what in (*HANDLER_BANNED, *banned):
            if under(name, what):
                return f"app/{layer} must not use {what}"
        if (
            under(name, "app")
            and name not in ("app", "app.extensions")
            and not any(under(name, allowed) for allowed in (f"app.{layer}", *HANDLER_ALLOWED_APP, *extra_allowed))
        ):
            return f"app/{layer} may only import services, errors, config (and other app.{layer} modules)"
        return None

    return rule


#: The API may word what it sends in the UI's translations (the wallet's OTP mail): the catalogue only, no views.
api_rule = handler_rule("api", extra_allowed=("app.ui.i18n",))
ui_rule = handler_rule("ui", banned=("app.api",))


FORMATS_BANNED = ("flask", "sqlalchemy", "flask_sqlalchemy", "connexion", "authlib")
FORMATS_ALLOWED_THIRD_PARTY = ("cryptography", "jwcrypto", "cbor2", "pycose", "rfc8785")


def formats_rule(name: str) -> str | None:
    for banned in FORMATS_BANNED:
        if under(name, banned):
            return f"app/formats must not use {banned}"
    if under(name, "app") and not under(name, "app.formats"):
        return "app/formats may only import other app.formats modules"
    return None


def formats_allow_list(name: str) -> str | None:
    root = name.partition(".")[0]
    if root in STDLIB or root in FORMATS_ALLOWED_THIRD_PARTY or under(name, "app.formats"):
        return None
    return f"app/formats imports {root}, which is not on the allow list"


SERVICES_BANNED = ("connexion", "flask.request", "flask.g", "flask.globals.request", "flask.globals.g")


def services_rule(name: str) -> str | None:
    for banned in SERVICES_BANNED:
        if under(name, banned):
            return f"app/services must not use {banned}"
    return None


def models_rule(name: str) -> str | None:
    if name.partition(".")[0] in STDLIB:
        return None
    if any(under(name, allowed) for allowed in ("sqlalchemy", "app.extensions", "app.models")):
        return None
    return "app/models may only import sqlalchemy, app.extensions and app.models"


def violations(source: str, module: str, rule: Rule, is_package: bool = False) -> list[str]:
    found = []
    for use in scan(source, module, is_package):
        reason = rule(use.name)
        if reason:
            found.append(f"{module}:{use.line}: {use.name} ({reason})")
    return found


def layer_files(layer: str) -> list[tuple[Path, str, bool]]:
    files = []
    for path in sorted((APP / layer).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        files.append((path, ".".join(parts), is_package))
    return files


def layer_violations(layer: str, rule: Rule) -> list[str]:
    found = []
    files = layer_files(layer)
    assert files, f"no Python files found under app/{layer}: the scan would prove nothing"
    for path, module, is_package in files:
        found += violations(path.read_text(encoding="utf-8"), module, rule, is_package)
    return found


# --- the real tree ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "rule"),
    [
        ("api", api_rule),
        ("formats", formats_rule),
        ("formats", formats_allow_list),
        ("services", services_rule),
        ("models", models_rule),
        ("ui", ui_rule),
    ],
    ids=["api", "formats-banned", "formats-allow-list", "services", "models", "ui"],
)
def test_layer_rules_hold(layer, rule):
    assert layer_violations(layer, rule) == []


def test_the_scan_sees_the_real_imports():
    """Guard against a scanner that silently finds nothing: known imports must show up."""
    jwk_source = (APP / "formats" / "jwk.py").read_text(encoding="utf-8")
    jwk_uses = {u.name for u in scan(jwk_source, "app.formats.jwk")}
    assert "jwcrypto.jwk" in jwk_uses
    assert "app.formats.errors.FormatError" in jwk_uses
    client_model = (APP / "models" / "clients.py").read_text(encoding="utf-8")
    assert "app.extensions.db" in {u.name for u in scan(client_model, "app.models.clients")}
    assert len(layer_files("services")) >= 3


# --- self-check: the scanner catches violations -----------------------------------------------


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from app.models.clients import Client", "app.api.handlers"),
        ("from app.models import Client", "app.api.handlers"),
        ("from app import models", "app.api.handlers"),
        ("import app.models.clients", "app.api.handlers"),
        ("from app.extensions import db", "app.api.handlers"),
        ("from app.extensions import state, db as database", "app.api.handlers"),
        ("import app.extensions\n\ndef f():\n    return app.extensions.db.session\n", "app.api.handlers"),
        ("from app import extensions\nx = extensions.db\n", "app.api.handlers"),
        ("import sqlalchemy as sa", "app.api.handlers"),
        ("from sqlalchemy.orm import Session", "app.api.handlers"),
        ("from flask_sqlalchemy import SQLAlchemy", "app.api.handlers"),
        ("from app.formats.jwe import decrypt_compact", "app.api.handlers"),
        ("from app.clock import clock", "app.api.handlers"),
        ("from ..models import Client", "app.api.handlers"),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.models import Client\n", "app.api.handlers"),
    ],
)
def test_scanner_catches_api_violations(source, module):
    assert violations(source, module, api_rule)


@pytest.mark.parametrize(
    "source",
    [
        "import flask",
        "from flask import current_app",
        "import sqlalchemy.orm",
        "from flask_sqlalchemy import SQLAlchemy",
        "from connexion.exceptions import ProblemException",
        "from authlib.jose import JsonWebKey",
        "from app.services import keys",
        "from app.config import Settings",
        "import app.errors",
        "from ..config import Settings",
        "from .. import extensions",
    ],
)
def test_scanner_catches_formats_violations(source):
    assert violations(source, "app.formats.sample", formats_rule)


def test_scanner_formats_allow_list_catches_other_libraries():
    assert violations("import requests", "app.formats.sample", formats_allow_list)
    assert violations("from redis import Redis", "app.formats.sample", formats_allow_list)
    assert not violations(
        "import json\nfrom jwcrypto import jwk\nfrom cryptography import x509\n"
        "from . import errors\nfrom .errors import FormatError\n",
        "app.formats.sample",
        formats_allow_list,
    )


@pytest.mark.parametrize(
    "source",
    [
        "from flask import request",
        "from flask import g",
        "from flask import Flask, g as flask_g",
        "import flask\n\ndef f():\n    return flask.request.args\n",
        "import flask as fl\n\ndef f():\n    return fl.g.user\n",
        "from flask.globals import request",
        "import connexion",
        "from connexion import FlaskApp",
        "from connexion.context import context",
    ],
)
def test_scanner_catches_services_violations(source):
    assert violations(source, "app.services.sample", services_rule)


@pytest.mark.parametrize(
    "source",
    [
        "from flask import current_app",
        "import requests",
        "from app.services import audit",
        "from app.formats.jwk import thumbprint",
        "from flask_sqlalchemy import SQLAlchemy",
        "from ..services import audit",
    ],
)
def test_scanner_catches_models_violations(source):
    assert violations(source, "app.models.sample", models_rule)


def test_scanner_allows_clean_sources():
    """The rules are not trivially 'everything is a violation'."""
    assert not violations(
        "from app.extensions import state\nfrom app.services import keys\n"
        "from app.errors import IdbbError\nfrom flask import request\n",
        "app.api.handlers",
        api_rule,
    )
    assert not violations(
        "from flask import Flask, current_app\nimport flask\nx = flask.Flask\n"
        "from app.models.clients import Client\nfrom app.extensions import db\n",
        "app.services.sample",
        services_rule,
    )
    assert not violations(
        "from datetime import datetime\nfrom sqlalchemy import String\n"
        "from sqlalchemy.orm import Mapped\nfrom app.extensions import db\n"
        "from .types import UTCDateTime\n",
        "app.models.sample",
        models_rule,
    )
    assert not violations(
        "import base64\nfrom jwcrypto import jwk\nfrom app.formats.errors import FormatError\nfrom . import errors\n",
        "app.formats.sample",
        formats_rule,
    )


def test_relative_imports_resolve():
    assert [u.name for u in scan("from ..models import Client", "app.api.handlers")] == ["app.models", "app.models.Client"]
    assert [u.name for u in scan("from . import keys", "app.services", is_package=True)] == [
        "app.services",
        "app.services.keys",
    ]
    assert [u.name for u in scan("from .errors import E", "app.formats.jwk")] == [
        "app.formats.errors",
        "app.formats.errors.E",
    ]


# --- services: no web framework, no handlers, no pages ------------------------------------------

#: What a service may take from Flask: the ``Flask`` type of an app handed in as an argument (start-up
#: checks, the JWE payload key). ``current_app`` only where a service starts work outside any request: the
#: audit sealer's thread needs the app object itself (``app.services.audit.nudge``).
SERVICES_FLASK_ALLOWED = ("flask.Flask",)
SERVICES_CURRENT_APP = (
    "app.services.audit",  # the sealer thread
    "app.services.lifecycle.jobs",  # a large bulk status change runs in a worker thread with its own app context
)


def services_boundary_rule(module: str) -> Rule:
    """Services know nothing of HTTP: no Flask but the app type, no ``app.api`` or ``app.ui`` (issue 15)."""

    def rule(name: str) -> str | None:
        if under(name, "app.api") or under(name, "app.ui"):
            return "app/services must not import app.api or app.ui (the handlers and pages call services)"
        if under(name, "werkzeug"):
            return "app/services must not use werkzeug (HTTP belongs to the handlers)"
        if under(name, "flask") and name != "flask":
            if any(under(name, allowed) for allowed in SERVICES_FLASK_ALLOWED):
                return None
            if under(name, "flask.current_app") and module in SERVICES_CURRENT_APP:
                return None
            return f"app/services may use flask only for {', '.join(SERVICES_FLASK_ALLOWED)}"
        return None

    return rule


#: The capability packages under app/services (the root holds what every capability shares).
CAPABILITY_PACKAGES = (
    "oidc",
    "wallet",
    "enrollment",
    "ops",
    "issuance",
    "status",
    "datastore",
    "lifecycle",
    "cms",
    "credential_management",
    "cards",
)


def _capability(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 3 and parts[:2] == ["app", "services"] and parts[2] in CAPABILITY_PACKAGES:
        return parts[2]
    return None


def package_boundary_rule(module: str) -> Rule:
    """A module reaches into another capability package only through public names: no ``_private``
    module, function or constant of another package (inside its own package a module may share them)."""
    own = _capability(module)

    def rule(name: str) -> str | None:
        other = _capability(name)
        if other is None or other == own:
            return None
        private = [part for part in name.split(".")[3:] if part.startswith("_") and not part.startswith("__")]
        if private:
            return f"{private[0]} is private to app.services.{other}"
        return None

    return rule


def module_violations(layer: str, make_rule: Callable[[str], Rule]) -> list[str]:
    found = []
    for path, module, is_package in layer_files(layer):
        found += violations(path.read_text(encoding="utf-8"), module, make_rule(module), is_package)
    return found


def stores_rule(name: str) -> str | None:
    """Stores are short-lived shared state: they may build on models, the db handle, settings, formats."""
    if (
        under(name, "app")
        and name != "app"
        and not any(
            under(name, allowed)
            for allowed in ("app.stores", "app.models", "app.extensions", "app.config", "app.formats", "app.errors")
        )
    ):
        return "app/stores may only import app.models, app.extensions, app.config, app.formats and app.errors"
    return None


def test_services_know_no_http_and_no_handlers():
    assert module_violations("services", services_boundary_rule) == []


def test_services_cross_packages_only_through_public_names():
    assert module_violations("services", package_boundary_rule) == []


def test_stores_rule_holds():
    assert layer_violations("stores", stores_rule) == []


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from app.ui import i18n", "app.services.oidc.sample"),
        ("from app.ui.i18n import translate", "app.services.sample"),
        ("from app.api.envelope import ok", "app.services.wallet.sample"),
        ("import app.api.security", "app.services.sample"),
        ("from flask import current_app", "app.services.oidc.sample"),
        ("from flask import session", "app.services.sample"),
        ("from flask import request", "app.services.sample"),
        ("import flask\nx = flask.g\n", "app.services.sample"),
        ("from werkzeug.datastructures import LanguageAccept", "app.services.sample"),
    ],
)
def test_scanner_catches_services_boundary_violations(source, module):
    assert violations(source, module, services_boundary_rule(module))


def test_services_boundary_allows_the_app_type_and_the_sealer():
    assert not violations(
        "from flask import Flask\n", "app.services.ops.startup", services_boundary_rule("app.services.ops.startup")
    )
    assert not violations(
        "from flask import Flask, current_app\n", "app.services.audit", services_boundary_rule("app.services.audit")
    )


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from app.services.oidc.token_endpoint import _server", "app.services.wallet.sample"),
        ("from app.services.oidc import _private_helper", "app.services.enrollment.sample"),
        ("from app.services.wallet.linked_authorization import _seal", "app.services.audit"),
        ("from app.services.oidc import grants\nx = grants._tokens\n", "app.services.wallet.sample"),
        ("from ..oidc.token_endpoint import _Request", "app.services.wallet.sample"),
    ],
)
def test_scanner_catches_private_names_across_packages(source, module):
    assert violations(source, module, package_boundary_rule(module))


def test_package_boundary_allows_public_names_and_own_package():
    assert not violations(
        "from app.services.oidc.token_endpoint import _Request, _server\n",
        "app.services.oidc.par",
        package_boundary_rule("app.services.oidc.par"),
    )
    assert not violations(
        "from app.services.oidc.authorize_flow import acr_for\n",
        "app.services.wallet.sample",
        package_boundary_rule("app.services.wallet.sample"),
    )


@pytest.mark.parametrize(
    "source",
    [
        "from app.services import keys",
        "from app.api.envelope import ok",
        "from app.ui import i18n",
        "import app.cli",
        "from app.clock import clock",
        "from .. import services",
    ],
)
def test_scanner_catches_stores_violations(source):
    assert violations(source, "app.stores.sample", stores_rule)


def test_stores_rule_allows_its_foundations():
    assert not violations(
        "from sqlalchemy import delete\nimport redis\nfrom app.extensions import db\n"
        "from app.models.replay import ReplayEntry\nfrom app.config import Settings\n",
        "app.stores.sample",
        stores_rule,
    )


# --- no import circles anywhere in app/ ---------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    deferred: bool  # inside a function: runs when the function does, after both modules have loaded


#: Function-level imports that close a circle on purpose, each with its reason. Anything else that closes a
#: circle fails, at module or function level. None is left: OpenID4VCI's pre-authorized grant, the last one,
#: is registered on oidc's token endpoint by the app factory (``token_endpoint.register_grant``).
DEFERRED_SEAMS: dict[tuple[str, str], str] = {}


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks: never executed, so not part of the import graph."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                for child in node.body:
                    lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def app_modules() -> dict[str, tuple[Path, bool]]:
    modules = {}
    for path in sorted(APP.rglob("*.py")):
        if "migrations" in path.relative_to(APP).parts:
            continue  # Alembic revisions are loaded by Alembic, never imported by the app
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules[".".join(parts)] = (path, is_package)
    return modules


def _owner(name: str, modules: dict[str, tuple[Path, bool]]) -> str | None:
    """The app module a dotted name lives in (the longest module prefix); None for a namespace package
    (``app.services`` has no ``__init__``: ``from app.services import audit`` imports only ``audit``)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
        if ROOT.joinpath(*parts[:end]).is_dir():
            return None
    return None


def import_edges(source: str, module: str, is_package: bool, modules: dict[str, tuple[Path, bool]]) -> list[Edge]:
    """Module-level and function-level imports alike (a function-level import that closes a circle only
    hides it until the function runs); ``TYPE_CHECKING`` imports excluded (never executed)."""
    tree = ast.parse(source)
    skipped = _type_checking_lines(tree)
    in_function = {
        line
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }
    edges = []
    for use in scan(source, module, is_package):
        if use.line in skipped or not under(use.name, "app"):
            continue
        target = _owner(use.name, modules)
        if target is not None and target != module:
            edges.append(Edge(module, target, use.line, use.line in in_function))
    return edges


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (as a path that returns to its start), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt, WHITE) == GREY:
                return stack[stack.index(nxt) :] + [nxt]
            if colour.get(nxt, WHITE) == WHITE:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = BLACK
        return None

    for start in sorted(graph):
        if colour[start] == WHITE:
            found = visit(start)
            if found:
                return found
    return None


def app_import_graph(extra: dict[str, str] | None = None) -> dict[str, set[str]]:
    modules = app_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for module, (path, is_package) in modules.items():
        source = path.read_text(encoding="utf-8") + ("\n" + extra[module] if extra and module in extra else "")
        for edge in import_edges(source, module, is_package, modules):
            if not (edge.deferred and (edge.source, edge.target) in DEFERRED_SEAMS):
                graph[module].add(edge.target)
    return graph


def test_no_import_circles_in_app():
    assert find_cycle(app_import_graph()) is None


def test_the_graph_sees_function_level_imports():
    graph = app_import_graph()
    assert "app.stores.rate_limits" in graph["app"]
    assert "app.services.datastore.issuing" in graph["app.services.issuance.backend"]  # in a function
    assert "app.services.issuance.pre_authorized" not in graph["app.services.oidc.token_endpoint"]  # the seam
    assert "app.stores.replay" not in graph["app.extensions"]  # TYPE_CHECKING only


def test_every_deferred_seam_is_still_needed():
    """A seam that no longer closes a circle (or no longer exists) goes from the list."""
    modules = app_modules()
    seen = {
        (edge.source, edge.target)
        for module, (path, is_package) in modules.items()
        for edge in import_edges(path.read_text(encoding="utf-8"), module, is_package, modules)
        if edge.deferred
    }
    assert set(DEFERRED_SEAMS) <= seen
    graph = app_import_graph()
    for source, target in DEFERRED_SEAMS:
        with_seam = {name: set(targets) for name, targets in graph.items()}
        with_seam[source].add(target)
        assert find_cycle(with_seam) is not None, f"{source} -> {target} closes no circle: drop it"


@pytest.mark.parametrize(
    ("module", "added"),
    [
        ("app.services.oidc.oidc_clients", "from app.services.wallet import wallet_page"),  # wallet -> oidc -> wallet
        ("app.stores.replay", "def f():\n    from app import create_app\n"),  # function level: still a circle
        ("app.services.audit", "from app import __version__"),  # the factory imports the services
        ("app.extensions", "from app.stores.replay import SqlReplayStore"),  # the circle issue 15 cut
        ("app.services.oidc.token_endpoint", "from app.services.issuance import pre_authorized"),  # seam, at module level
    ],
)
def test_the_cycle_check_fails_on_a_circle(module, added):
    assert find_cycle(app_import_graph({module: added})) is not None


# --- which capability package may build on which ------------------------------------------------

#: Each capability package and the packages it may import (``root``: the shared modules directly under
#: app/services). The root imports no capability package. Keep the package ``__init__`` docstrings in step.
PACKAGE_DEPENDENCIES = {
    "root": set(),
    "enrollment": {"root", "lifecycle"},  # lifecycle: a death or an update in the registry drives credential status
    "status": {"root"},
    "oidc": {"root", "enrollment", "issuance"},  # enrollment: the registry's login lookup; issuance: the seams
    "wallet": {"root", "oidc", "enrollment", "ops"},  # ops: the compliance sandbox's fixed transactions
    # lifecycle: a blocked identity gets no credential, a renewal's old credential is revoked on acceptance;
    # datastore: a document is the subject of an offer (issue 18)
    "issuance": {"root", "oidc", "enrollment", "status", "lifecycle", "datastore"},
    "ops": {"root", "oidc", "wallet", "enrollment", "issuance", "status"},  # it seeds and checks them all
    "lifecycle": {"root", "oidc", "enrollment", "issuance", "status"},
    # oidc: idbb's own access tokens and API-client authentication; lifecycle: deleting a document revokes
    "datastore": {"root", "oidc", "enrollment", "issuance", "status", "lifecycle"},
    # enrollment: the photo among the registry's images; status and issuance: a card is a credential with a
    # status-list entry and a record the lifecycle changes
    "cards": {"root", "enrollment", "status", "issuance"},
    # the OSIA CMS makes wallet offers (issuance) or cards, and changes status only through lifecycle
    "cms": {"root", "issuance", "lifecycle", "cards"},
    # GovStack credential management: lifecycle for block/unblock, cards, oidc's id tokens for sharing
    "credential_management": {"root", "issuance", "lifecycle", "cards", "oidc"},
}


def _package_of(module: str) -> str | None:
    if not module.startswith("app.services."):
        return None
    return _capability(module) or ("root" if module.count(".") == 2 else None)


def package_dependency_violations(extra: dict[str, str] | None = None) -> list[str]:
    modules = app_modules()
    found = []
    for module, (path, is_package) in modules.items():
        own = _package_of(module)
        if own is None:
            continue
        source = path.read_text(encoding="utf-8") + ("\n" + extra[module] if extra and module in extra else "")
        for edge in import_edges(source, module, is_package, modules):
            other = _package_of(edge.target)
            if other is not None and other != own and other not in PACKAGE_DEPENDENCIES.get(own, set()):
                found.append(f"{module}:{edge.line}: {edge.target} ({own} may not import {other})")
    return found


def test_capability_packages_depend_only_as_documented():
    assert package_dependency_violations() == []


@pytest.mark.parametrize(
    ("module", "added"),
    [
        ("app.services.api_clients", "from app.services.oidc.client_auth import ClientAdapter"),  # root -> oidc
        ("app.services.enrollment.registry", "from app.services.oidc import sso"),
        ("app.services.oidc.sso", "def f():\n    from app.services.wallet import wallet_page\n"),
    ],
)
def test_the_package_check_fails_on_an_undocumented_dependency(module, added):
    assert package_dependency_violations({module: added})
