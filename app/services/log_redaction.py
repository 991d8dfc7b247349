"""Request paths fit for log lines: the identifiers in them (UINs, enrollment, buffer and client ids) blanked.

A path such as ``/registry/identities/7301946852`` names a person; error records and anything else that
logs a path log ``/registry/identities/{id}`` instead (issue 14, robustness 10).
"""

import re
from collections.abc import Iterable

_SEGMENT = re.compile(r"[a-z][a-z0-9_.-]*\Z")
_static_segments: set[str] = set()


def learn_paths(rules: Iterable[str]) -> None:
    """Remember the literal segments of every route (``/registry/identities/<uin>`` gives ``registry`` and
    ``identities``) so that :func:`redact_path` can keep them and blank everything else."""
    for rule in rules:
        _static_segments.update(seg for seg in rule.split("/") if seg and not seg.startswith(("<", "{")))


def redact_path(path: str) -> str:
    """A request path fit for a log line: segments that are not literal parts of a route (UINs, enrollment,
    buffer and client ids) become ``{id}``; the query string is never part of it."""
    segments = path.split("?", 1)[0].split("/")
    return "/".join(seg if seg in _static_segments and _SEGMENT.match(seg) or not seg else "{id}" for seg in segments)
