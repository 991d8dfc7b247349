"""Error classes carry their wire code (issue 15): each code is spelled in exactly one class, and no raise
site in ``app/`` passes a code string (or the older ``(code, description)`` form) to an error constructor."""

import ast
import functools
import importlib
import pkgutil
from pathlib import Path

import pytest

import app
from app import errors
from app.errors import IdbbError

APP = Path(app.__file__).parent


@functools.cache
def _sources() -> tuple[tuple[Path, ast.Module], ...]:
    return tuple((p, ast.parse(p.read_text(), str(p))) for p in sorted(APP.rglob("*.py")) if "migrations" not in p.parts)


def _error_class_names() -> set[str]:
    """Every class in ``app/`` that derives from ``IdbbError`` (by base name, to a fixed point), plus aliases."""
    classes: dict[str, list[str]] = {}
    aliases: dict[str, str] = {}
    for _, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, []).extend(
                    b.id if isinstance(b, ast.Name) else b.attr
                    for b in node.bases
                    if isinstance(b, (ast.Name, ast.Attribute))
                )
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Name)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                aliases[node.targets[0].id] = node.value.id
    names = {"IdbbError"}
    while True:
        more = {n for n, bases in classes.items() if set(bases) & names} | {a for a, t in aliases.items() if t in names}
        if more <= names:
            return names
        names |= more


def _runtime_classes() -> set[type[IdbbError]]:
    for info in pkgutil.walk_packages(app.__path__, "app."):  # every error class, wherever it is defined
        if info.name != "app.asgi" and ".migrations" not in info.name:  # app.asgi builds an app from the environment
            importlib.import_module(info.name)
    found: set[type[IdbbError]] = set()
    todo = [IdbbError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def _code_definitions() -> dict[str, list[str]]:
    """code string → the classes (file:name) whose body assigns ``code = "..."``."""
    defined: dict[str, list[str]] = {}
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for stmt in node.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "code" for t in stmt.targets)
                    and isinstance(stmt.value, ast.Constant)
                    and isinstance(stmt.value.value, str)
                    and stmt.value.value
                ):
                    defined.setdefault(stmt.value.value, []).append(f"{path.relative_to(APP)}:{node.name}")
    return defined


def test_every_wire_code_is_spelled_in_exactly_one_class() -> None:
    defined = _code_definitions()
    assert {"invalid_request", "invalid_grant", "invalid_transaction", "unknown_identity"} <= set(defined)
    twice = {code: where for code, where in defined.items() if len(where) != 1}
    assert twice == {}


def test_the_runtime_classes_agree_with_the_source_scan() -> None:
    runtime = _runtime_classes()
    assert {c.__dict__["code"] for c in runtime if c.__dict__.get("code")} == set(_code_definitions())
    assert {c.__name__ for c in runtime} <= _error_class_names()


def test_no_raise_site_passes_a_wire_code() -> None:
    """A known code as a string literal in an error constructor call, or the two-argument (code, description)
    form, means the code is spelled a second time at the raise site."""
    names = _error_class_names()
    assert {"InvalidGrant", "InvalidLinkCode", "UnknownIdentity", "DpopRefused", "InvalidProof"} <= names
    known = set(_code_definitions())
    offenders = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name not in names:
                continue
            literals = [
                a.value
                for a in [*node.args, *(k.value for k in node.keywords)]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if any(v in known for v in literals) or len(node.args) > 1 or any(k.arg == "code" for k in node.keywords):
                offenders.append(f"{path.relative_to(APP)}:{node.lineno} {name}")
    assert offenders == [], "\n".join(offenders)


def test_a_class_answers_its_own_code_status_and_description() -> None:
    err = errors.InvalidGrant("The code was already used.")
    assert (err.code, err.status, err.description) == ("invalid_grant", 400, "The code was already used.")
    assert errors.UnknownIdentity().status == 404 and errors.DuplicateClientId().status == 409
    assert errors.InvalidClient().status == 401 and errors.InvalidCsrfToken().status == 403
    assert errors.ServerError(detail="why").status == 500
    # eSignet and OSIA request errors stay InvalidRequest, so ``except InvalidRequest`` still catches them
    assert isinstance(errors.InvalidLinkCode(), errors.InvalidRequest)
    assert isinstance(errors.InvalidPin(), errors.InvalidRequest)


def test_the_older_code_first_form_still_works() -> None:
    """Code written against ``app/errors.py`` before the hierarchy keeps its wire behaviour."""
    legacy = errors.InvalidRequest("invalid_thing", "Why.", detail="log only")
    assert (legacy.code, legacy.description, legacy.status, legacy.detail) == ("invalid_thing", "Why.", 400, "log only")
    bare = errors.IdbbError("some_code", "Why.", status=422)
    assert (bare.code, bare.status) == ("some_code", 422)
    assert errors.NotFound("unknown_x", "Gone.").code == "unknown_x"
    with pytest.raises(TypeError):
        errors.IdbbError()
