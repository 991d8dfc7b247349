"""JSON Merge Patch (RFC 7396), for OSIA ``PATCH`` operations on enrollments and identities.

JSON values are Python values as :func:`json.loads` makes them: objects are ``dict``, ``null`` is ``None``.
"""

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply ``patch`` to ``target`` as RFC 7396 §2 defines it and return the result as a new value.

    Neither argument is mutated and the result shares no mutable part with them.
    """
    return _merge(copy.deepcopy(target), patch)


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7396 §2 ``MergePatch(Target, Patch)``, line by line; ``target`` is already a private copy."""
    if isinstance(patch, dict):  # if Patch is an Object:
        if not isinstance(target, dict):  # if Target is not an Object:
            target = {}  # Ignore the contents and set it to an empty Object
        for name, value in patch.items():  # for each Name/Value pair in Patch:
            if value is None:  # if Value is null:
                target.pop(name, None)  # if Name exists in Target: remove the Name/Value pair from Target
            else:
                target[name] = _merge(target.get(name), value)  # Target[Name] = MergePatch(Target[Name], Value)
        return target
    return copy.deepcopy(patch)  # else: return Patch
