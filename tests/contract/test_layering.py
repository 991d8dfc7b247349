"""The layering rules of ARCHITECTURE.md ("What may import what"), checked by an AST import scan.

Every ``import``/``from ... import`` (relative ones resolved, ``TYPE_CHECKING`` blocks included) and
every attribute use through an imported name (``flask.request.args``, ``fl.g``) is turned into a
dotted name; each layer has rules over those names.
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
        if under(name, "app") and name not in ("app", "app.extensions") and not any(
                under(name, allowed) for allowed in (f"app.{layer}", *HANDLER_ALLOWED_APP, *extra_allowed)):
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
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.models import Client\n",
         "app.api.handlers"),
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
    assert not violations("import json\nfrom jwcrypto import jwk\nfrom cryptography import x509\n"
                          "from . import errors\nfrom .errors import FormatError\n",
                          "app.formats.sample", formats_allow_list)


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
    assert not violations("from app.extensions import state\nfrom app.services import keys\n"
                          "from app.errors import IdbbError\nfrom flask import request\n",
                          "app.api.handlers", api_rule)
    assert not violations("from flask import Flask, current_app\nimport flask\nx = flask.Flask\n"
                          "from app.models.clients import Client\nfrom app.extensions import db\n",
                          "app.services.sample", services_rule)
    assert not violations("from datetime import datetime\nfrom sqlalchemy import String\n"
                          "from sqlalchemy.orm import Mapped\nfrom app.extensions import db\n"
                          "from .types import UTCDateTime\n",
                          "app.models.sample", models_rule)
    assert not violations("import base64\nfrom jwcrypto import jwk\n"
                          "from app.formats.errors import FormatError\nfrom . import errors\n",
                          "app.formats.sample", formats_rule)


def test_relative_imports_resolve():
    assert [u.name for u in scan("from ..models import Client", "app.api.handlers")] == [
        "app.models", "app.models.Client"]
    assert [u.name for u in scan("from . import keys", "app.services", is_package=True)] == [
        "app.services", "app.services.keys"]
    assert [u.name for u in scan("from .errors import E", "app.formats.jwk")] == [
        "app.formats.errors", "app.formats.errors.E"]
