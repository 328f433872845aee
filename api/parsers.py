"""The JSON body parser: DRF's, with a bound on nesting.

Python reads JSON recursively: a body of a few kilobytes of brackets ("[[[[...") runs out
of stack while it is parsed (a RecursionError, which DRF would leave as a 500), or, just
short of that, later in whatever walks the value (hashing it for an Idempotency-Key,
validating it). No request of this API nests deeper than a seat map (5 levels): deeper is
a 400 before anything reads it.
"""

from collections.abc import Mapping
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


def depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0), without
    recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in item)
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if depth(data) > MAX_DEPTH:
            raise _too_deep()
        return data


def _too_deep() -> ParseError:
    # Made when raised: an APIException translates its message as it is made.
    return ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
