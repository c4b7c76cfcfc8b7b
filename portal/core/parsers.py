"""The API's JSON parser: DRF's, with a bound on how deeply a body may nest.

No document of the API nests deeper than a few levels (a service's header routes are the deepest: four). A body
nested a thousand levels deep overflows the interpreter's stack in the decoder, or later in code that walks it
(merging a patch, rendering errors), so it is refused here, before anything reads it, with a 400 that says why.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32


def json_depth(value) -> int:
    """How many arrays and objects deep ``value`` nests (0 for a scalar); iterative, so any depth is safe."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_JSON_DEPTH:  # deeper than that is refused anyway: no need to look further
            stack.extend((child, depth + 1) for child in children)
    return deepest


class BoundedJSONParser(JSONParser):
    """``JSONParser`` refusing bodies nested deeper than ``MAX_JSON_DEPTH`` levels (400, ``detail``)."""

    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(
            f"JSON parse error - the body nests deeper than {MAX_JSON_DEPTH} levels of arrays and objects."
        )
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise too_deep
        return data
