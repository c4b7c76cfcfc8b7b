"""Service specs from flat keyword arguments, for compact test cases: a field of a section (``level``, ``canary``,
``slo``) goes to the section that defines it, the rest are the spec's own fields (name, team, port, ...)."""

from dataclasses import fields, replace
from typing import Any

from provisioning.spec import SECTIONS, ServiceSpec

SECTION_OF = {f.name: key for key, section in SECTIONS.items() for f in fields(section)}


def _split(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    own: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        if name in SECTION_OF:
            parts.setdefault(SECTION_OF[name], {})[name] = value
        else:
            own[name] = value
    return own, parts


def service_spec(**values: Any) -> ServiceSpec:
    own, parts = _split(values)
    return ServiceSpec(**own, **{key: SECTIONS[key](**part) for key, part in parts.items()})


def respec(svc: ServiceSpec, **values: Any) -> ServiceSpec:
    """``svc`` with these fields changed, wherever they live."""
    own, parts = _split(values)
    return replace(svc, **own, **{key: replace(getattr(svc, key), **part) for key, part in parts.items()})
