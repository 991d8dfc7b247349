"""One transaction style (issue 15): a use case commits or rolls back only through ``atomic()`` or the named
helpers of ``app/services/transaction.py``; no other module calls ``session.commit``/``rollback`` itself."""

import ast
from pathlib import Path

import app

APP = Path(app.__file__).parent
#: the helpers, and the audit sealer, which chains on its own session in its own thread (not a use case)
ALLOWED = {"services/transaction.py", "services/audit.py"}


def _direct_calls() -> list[str]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        rel = path.relative_to(APP).as_posix()
        if rel.startswith("migrations/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("commit", "rollback")
            ):
                owner = node.func.value
                name = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else ""
                if "session" in name.lower() or name in ("db", "conn", "connection"):
                    found.append(f"{rel}:{node.lineno} {ast.unparse(node.func)}")
    return found


def test_only_the_transaction_module_commits_or_rolls_back() -> None:
    offenders = [c for c in _direct_calls() if c.split(":")[0] not in ALLOWED]
    assert offenders == [], "\n".join(offenders)


def test_the_scan_sees_the_helpers() -> None:
    """The scan finds the calls it is meant to find (else the test above could never fail)."""
    calls = _direct_calls()
    assert any(c.startswith("services/transaction.py:") and c.endswith("db.session.commit") for c in calls)
    assert any(c.startswith("services/transaction.py:") and c.endswith("db.session.rollback") for c in calls)
