"""Kubernetes label selectors (``matchLabels`` and ``matchExpressions``)."""

from collections.abc import Mapping
from typing import Any

from .model import mapping, sequence, text


def selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Whether ``labels`` satisfy ``selector``; an empty selector selects everything."""
    for key, value in mapping(selector.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    for expression in sequence(selector.get("matchExpressions")):
        expression = mapping(expression)
        key, operator = text(expression.get("key")), text(expression.get("operator"))
        values = [str(v) for v in sequence(expression.get("values"))]
        present = key in labels
        if operator == "In" and not (present and str(labels[key]) in values):
            return False
        if operator == "NotIn" and present and str(labels[key]) in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def describe(selector: Mapping[str, Any]) -> str:
    """The selector as ``kubectl -l`` writes it."""
    terms = [f"{k}={v}" for k, v in sorted(mapping(selector.get("matchLabels")).items())]
    for expression in sequence(selector.get("matchExpressions")):
        expression = mapping(expression)
        key, operator = text(expression.get("key")), text(expression.get("operator"))
        values = ",".join(str(v) for v in sequence(expression.get("values")))
        terms.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "DoesNotExist": f"!{key}"}.get(
                operator, key
            )
        )
    return ",".join(terms) or "everything"


def may_select(match_labels: Mapping[str, Any], known: Mapping[str, Any]) -> bool:
    """Whether pods that carry at least the ``known`` labels may match ``match_labels``: only a label known to
    differ rules them out."""
    return all(known.get(key, value) == value for key, value in match_labels.items())


def surely_selects(match_labels: Mapping[str, Any], known: Mapping[str, Any]) -> bool:
    """Whether every pod that carries the ``known`` labels matches ``match_labels``."""
    return all(key in known and known[key] == value for key, value in match_labels.items())
