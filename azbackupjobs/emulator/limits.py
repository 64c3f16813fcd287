"""Bounds on what one request may make the emulator do, and JSON parsing within them.

The emulator listens on loopback but answers anyone who reaches it, authenticated or not; a
request must never cost unbounded memory (a body is capped, see ``intake``) or blow the Python
stack (``json`` and the KQL parser recurse). Exceeding a bound is the client's error: a 4xx with
an ARM error body, never a 500 or a dead server.
"""

from __future__ import annotations

import json
from typing import Any, Final

# Real ARM request bodies of this API are a few hundred bytes; 1 MiB leaves ample room.
MAX_BODY_BYTES: Final = 1024 * 1024
# Objects and arrays inside a request body; the deepest real one (a KQL request) has 3.
MAX_JSON_DEPTH: Final = 64


class NestingError(ValueError):
    """A JSON document nested deeper than MAX_JSON_DEPTH."""


def json_depth(value: Any) -> int:
    """How deeply objects and arrays nest in a decoded document (iteratively: no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level) for child in children)
    return deepest


def load_json(raw: bytes | str) -> Any:
    """``json.loads`` that raises ValueError (NestingError) for a document nested too deeply.

    The decoder itself raises RecursionError past the interpreter's limit; below it, a deep
    document would still cost deep recursion in whatever walks it next.
    """
    try:
        value = json.loads(raw)
    except RecursionError:
        raise NestingError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise NestingError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return value
