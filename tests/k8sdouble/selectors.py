"""Label and field selectors of list and deletecollection requests, parsed into predicates."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import bad_request
from .kinds import ResourceType

_SELECTOR_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_SELECTOR_TERM = re.compile(
    rf"\s*(?:!\s*(?P<absent>{_SELECTOR_KEY})"
    rf"|(?P<key>{_SELECTOR_KEY})\s*(?:(?P<op>==|=|!=)\s*(?P<value>[-A-Za-z0-9_.]*)"
    rf"|\s+(?P<setop>in|notin)\s*\((?P<values>[^()]*)\))?)\s*"
)
_FIELD_TERM = re.compile(r"\s*(?P<field>[A-Za-z0-9.]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^,]*?)\s*")
_FIELD_SELECTORS: dict[tuple[str, str], frozenset[str]] = {
    ("", "Secret"): frozenset({"type"}),
    ("", "Namespace"): frozenset({"status.phase"}),
}


def _split_terms(text: str) -> list[str]:
    """Split a selector at the commas outside parentheses."""
    terms, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return [term for term in terms if term.strip()]


def _label_requirement(term: str) -> Callable[[Mapping[str, str]], bool]:
    match = _SELECTOR_TERM.fullmatch(term)
    if not match:
        raise bad_request(f"unable to parse requirement: {term.strip()!r}")
    if match["absent"]:
        absent = match["absent"]
        return lambda labels: absent not in labels
    key = match["key"]
    if match["op"]:
        value, negate = match["value"], match["op"] == "!="
        return lambda labels: (labels.get(key) == value) != negate
    if match["setop"]:
        values = {v.strip() for v in match["values"].split(",") if v.strip()}
        if match["setop"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    return lambda labels: key in labels


def label_selector(text: str) -> Callable[[Mapping[str, str]], bool]:
    """A predicate on an object's labels: ``a=b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``."""
    requirements = [_label_requirement(term) for term in _split_terms(text)]
    return lambda labels: all(requirement(labels) for requirement in requirements)


def field_selector(text: str, rtype: ResourceType) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate on an object: ``metadata.name`` and ``metadata.namespace`` (plus a few kind-specific fields)."""
    supported = {"metadata.name", "metadata.namespace"} | _FIELD_SELECTORS.get((rtype.group, rtype.kind), set())
    requirements: list[tuple[tuple[str, ...], str, bool]] = []
    for term in _split_terms(text):
        match = _FIELD_TERM.fullmatch(term)
        if not match:
            raise bad_request(f"invalid field selector: {term.strip()!r}")
        if match["field"] not in supported:
            raise bad_request(f"field label not supported: {match['field']}")
        requirements.append((tuple(match["field"].split(".")), match["value"], match["op"] == "!="))

    def matches(obj: Mapping[str, Any]) -> bool:
        for path, value, negate in requirements:
            current: Any = obj
            for part in path:
                current = current.get(part) if isinstance(current, dict) else None
            if ((current or "") == value) == negate:
                return False
        return True

    return matches
