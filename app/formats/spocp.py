"""SPOCP-style S-expression rules (the SIROS issuer's per-endpoint authorization, seed 000 "Configuration").

A rule such as ``(vc (service apigw)(method POST)(path /api/v1/datastore/)(subject hr-system)(authentic_source
SUNET)(scope diploma))`` allows a request whose query, built the same way from the request, it *covers*. The
SPOCP comparison (draft-hedberg-spocp-sexp, "less permissive than") is used: a rule list covers a query list
when the tags agree and each element of the rule covers the element of the query at the same place (the query
may hold more elements: they are refinements). Atoms compare exactly; ``*`` covers anything; the star forms
``(* prefix P)``, ``(* suffix S)`` and ``(* set a b ...)`` cover an atom beginning with P, ending with S, or
equal to one of the set's members. Atoms are runs of characters other than space and parentheses, or
double-quoted strings. Pure: no Flask, no application imports.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.formats.errors import FormatError

MAX_RULE_LENGTH = 4096
MAX_DEPTH = 16

Expr = str | tuple["Expr", ...]


class RuleSyntaxError(FormatError):
    """A rule that is not a well-formed S-expression (the message names the position, not the rule text)."""


@dataclass(frozen=True)
class Rule:
    text: str
    expr: Expr


def _tokens(text: str) -> list[str | None]:
    """Parentheses come back as themselves, atoms prefixed with ``a`` (so an atom ``(`` stays an atom)."""
    out: list[str | None] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(ch)
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise RuleSyntaxError(f"unterminated quoted string at {i}")
            out.append("a" + text[i + 1 : end])
            i = end + 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in '()"':
                i += 1
            out.append("a" + text[start:i])
    return out


def parse(text: str) -> Expr:
    """One S-expression: a list ``(tag element ...)`` whose tag is an atom."""
    if not isinstance(text, str) or len(text) > MAX_RULE_LENGTH:
        raise RuleSyntaxError("a rule is a string of at most 4096 characters")
    tokens = _tokens(text)
    stack: list[list[Expr]] = []
    result: Expr | None = None
    for pos, item in enumerate(tokens):
        if result is not None:
            raise RuleSyntaxError(f"text after the expression (token {pos})")
        if item == "(":
            if len(stack) >= MAX_DEPTH:
                raise RuleSyntaxError("rule nested too deeply")
            stack.append([])
        elif item == ")":
            if not stack:
                raise RuleSyntaxError(f"unbalanced ')' (token {pos})")
            items = stack.pop()
            if not items or not isinstance(items[0], str):
                raise RuleSyntaxError(f"a list starts with an atom tag (token {pos})")
            node: Expr = tuple(items)
            if stack:
                stack[-1].append(node)
            else:
                result = node
        else:
            if not stack or item is None:
                raise RuleSyntaxError("a rule is a list, not a bare atom")
            stack[-1].append(item[1:])
    if stack or result is None:
        raise RuleSyntaxError("unbalanced '(' or empty rule")
    if isinstance(result, tuple) and result[0] == "*":
        raise RuleSyntaxError("a rule cannot be a star form")
    return result


def compile_rules(lines: Iterable[str]) -> tuple[Rule, ...]:
    """Rules from text lines; blank lines and lines starting with ``#`` are skipped (a rules file)."""
    rules = []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            rules.append(Rule(stripped, parse(stripped)))
        except RuleSyntaxError as exc:
            raise RuleSyntaxError(f"rule {number}: {exc}") from exc
    return tuple(rules)


def _star(rule: tuple[Expr, ...], query: Expr) -> bool:
    kind = rule[1] if len(rule) > 1 else None
    args = rule[2:]
    if kind is None:
        return True  # (*) is SPOCP's wildcard too
    if not isinstance(query, str) or not all(isinstance(a, str) for a in args):
        return False
    if kind == "prefix" and len(args) == 1:
        return query.startswith(str(args[0]))
    if kind == "suffix" and len(args) == 1:
        return query.endswith(str(args[0]))
    if kind == "set":
        return query in args
    return False  # an unknown star form covers nothing (fail closed)


def covers(rule: Expr, query: Expr) -> bool:
    """Whether ``rule`` allows ``query`` (SPOCP "query <= rule")."""
    if isinstance(rule, str):
        return rule == "*" or (isinstance(query, str) and rule == query)
    if rule and rule[0] == "*":
        return _star(rule, query)
    if isinstance(query, str) or len(query) < len(rule):
        return False
    return all(covers(r, q) for r, q in zip(rule, query, strict=False))


def query(tag: str, pairs: Sequence[tuple[str, str]]) -> Expr:
    """``(tag (name value) ...)`` for a request, e.g. ``(vc (service apigw)(method POST)...)``."""
    return (tag, *((name, value) for name, value in pairs))


def allowed(rules: Sequence[Rule], request: Expr) -> bool:
    """Whether any rule covers the request's query."""
    return any(covers(rule.expr, request) for rule in rules)
