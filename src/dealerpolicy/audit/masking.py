"""Masking: replace sensitive fact values by their sha256 before a record is stored."""

from __future__ import annotations

import hashlib
from typing import Any

from dealerpolicy.storage.jsonutil import canonical

# Where fact paths are looked up inside a record.
ROOTS = (("facts",), ("request", "facts"))


def digest(value: Any) -> str:
    """`sha256:<hex>` of a value (a string's own UTF-8 bytes, anything else its canonical JSON)."""
    data = value if isinstance(value, str) else canonical(value)
    return "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest()


def mask(record: dict[str, Any], paths: list[str]) -> list[str]:
    """Mask each dotted fact path in `facts` and `request.facts` in place; return what was masked."""
    masked: list[str] = []
    for root in ROOTS:
        base = _walk(record, root)
        for path in paths:
            if isinstance(base, dict) and _mask_path(base, path.split(".")):
                masked.append(".".join((*root, path)))
    return masked


def _walk(value: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _mask_path(node: Any, parts: list[str]) -> bool:
    """Mask node[parts…]; a list on the way applies the rest to each element."""
    if isinstance(node, list):
        return any([_mask_path(item, parts) for item in node])
    if not isinstance(node, dict) or parts[0] not in node:
        return False
    if len(parts) == 1:
        if node[parts[0]] is not None:
            node[parts[0]] = digest(node[parts[0]])
            return True
        return False
    return _mask_path(node[parts[0]], parts[1:])
