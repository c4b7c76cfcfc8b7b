"""The read model of services: each one's document as the API, the pages and the audit log show it.

A document is the service's spec (``provisioning.spec``: the basics, then the exposure, traffic and telemetry
sections, under the spec's field names, which are also the columns' names) plus the keys that change without an
edit: state, revision and the update time. Each edit stores the document's catalog part as JSON in
``Service.spec_json``, so a page of 100 services reads one table instead of four (README, Performance). A stored
spec is valid only for the revision it was built from (``spec_revision``); signals blank it when a related row
changes some other way. A missing or stale one is built from the tables, for the whole page at once, and stored.
"""

from dataclasses import fields
from typing import Any

import orjson
from django.db import models
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from provisioning.spec import BASICS, SECTIONS, jsonable

from .models import Hostname, Route, Service, Traffic

# Section fields that are rows of their own (to-many), read for a page at once.
TO_MANY = {"exposure": ("hostnames", "routes"), "traffic": ("allowed_callers",)}

# What a document reads of a service, as the lookups of one values() row.
DOCUMENT_LOOKUPS = (
    "pk",
    "name",
    "team__slug",
    *BASICS,
    *(
        f"{key}__{f.name}"
        for key, section in SECTIONS.items()
        for f in fields(section)
        if f.name not in TO_MANY.get(key, ())
    ),
    "state",
    "revision",
    "created_at",
    "updated_at",
)

# The keys that change without an edit, read from the service's own columns at each request; the stored spec
# holds the rest, ending with "created_at" (written once), after which the live keys go.
LIVE_KEYS = ("state", "revision", "updated_at")
LIST_COLUMNS = ("pk", "spec_json", "spec_revision", *LIVE_KEYS)

# The top-level keys every stored spec holds.
_COMPLETE = frozenset(("name", "team", *BASICS, *SECTIONS, "created_at"))

# A service's hostnames, routes (as documented) and allowed callers' names.
Related = tuple[list[str], list[dict], list[str]]


def service_queryset() -> QuerySet[Service]:
    """Services with their sections and related rows, for pages that show them, in a constant number of queries."""
    return Service.objects.select_related("team", "exposure", "traffic", "telemetry").prefetch_related(
        "exposure__hostnames", "exposure__routes__target", "traffic__allowed_callers"
    )


def service_list_queryset() -> QuerySet:
    """Services as the rows a list of documents reads: their stored spec and their live columns."""
    return Service.objects.values(*LIST_COLUMNS)


def _datetime(value, tz=None) -> str:
    """As DRF's DateTimeField writes it (ISO 8601 in the current time zone, UTC as Z), at a fraction of its cost
    (which shows on a page of 100 services); ``tz``: the current time zone, when the caller has it already."""
    text = (value.astimezone(tz) if tz is not None else timezone.localtime(value)).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def row_document(row: dict, related: Related) -> dict[str, Any]:
    """A service's document from a ``DOCUMENT_LOOKUPS`` row and its to-many parts."""
    hostnames, routes, callers = related
    many = {"exposure": {"hostnames": hostnames, "routes": routes}, "traffic": {"allowed_callers": sorted(callers)}}
    document: dict[str, Any] = {"name": row["name"], "team": row["team__slug"]}
    document |= {name: row[name] for name in BASICS}
    for key, section in SECTIONS.items():
        document[key] = {
            f.name: many[key][f.name] if f.name in TO_MANY.get(key, ()) else jsonable(row[f"{key}__{f.name}"])
            for f in fields(section)
        }
    # The column keeps "no hash key" as a blank string.
    document["traffic"]["hash_on"] = document["traffic"]["hash_on"] or None
    document |= {
        "state": row["state"],
        "revision": row["revision"],
        "created_at": _datetime(row["created_at"]),
        "updated_at": _datetime(row["updated_at"]),
    }
    return document


def page_relations(service_ids: list[int]) -> dict[int, Related]:
    """The to-many parts of many services' documents, one query each."""
    hostnames: dict[int, list[str]] = {pk: [] for pk in service_ids}
    routes: dict[int, list[dict]] = {pk: [] for pk in service_ids}
    callers: dict[int, list[str]] = {pk: [] for pk in service_ids}
    for exposure_id, fqdn in Hostname.objects.filter(exposure_id__in=service_ids).values_list("exposure_id", "fqdn"):
        hostnames[exposure_id].append(fqdn)
    rows = Route.objects.filter(exposure_id__in=service_ids).values_list(
        "exposure_id", "header", "match", "value", "target__name"
    )
    for exposure_id, header, match, value, target in rows:
        routes[exposure_id].append({"header": header, match: value, "service": target})
    through = Traffic.allowed_callers.through.objects.filter(traffic_id__in=service_ids)
    for traffic_id, name in through.values_list("traffic_id", "service__name"):
        callers[traffic_id].append(name)
    return {pk: (hostnames[pk], routes[pk], callers[pk]) for pk in service_ids}


def build_documents(service_ids: list[int]) -> dict[int, dict]:
    """Documents built from the tables (flat rows and one query per to-many relation), their specs stored in one
    UPDATE for the revision each was built from (a concurrent edit moves the revision on and wins)."""
    rows = list(Service.objects.filter(pk__in=service_ids).values(*DOCUMENT_LOOKUPS))
    related = page_relations([row["pk"] for row in rows])
    documents = {row["pk"]: row_document(row, related[row["pk"]]) for row in rows}
    if rows:
        current = [Q(pk=row["pk"], revision=row["revision"]) for row in rows]
        Service.objects.filter(pk__in=documents).update(
            spec_json=Case(
                *(When(c, then=Value(_spec(documents[row["pk"]]))) for c, row in zip(current, rows, strict=True)),
                default=F("spec_json"),
                output_field=models.TextField(),
            ),
            spec_revision=Case(
                *(When(c, then=Value(row["revision"])) for c, row in zip(current, rows, strict=True)),
                default=F("spec_revision"),
                output_field=models.PositiveIntegerField(),
            ),
        )
    return documents


def service_documents(services: list) -> list[dict]:
    """The documents of services given as instances or ``service_list_queryset`` rows: from their stored spec
    where it is current, else built from the tables (the to-many parts read at once) and stored for next time."""
    rows = [
        service if isinstance(service, dict) else {c: getattr(service, c) for c in LIST_COLUMNS} for service in services
    ]
    stored = {
        row["pk"]: orjson.loads(row["spec_json"])
        for row in rows
        if row["spec_json"] and row["spec_revision"] == row["revision"]
    }
    # A spec stored before the document gained a field lacks it: built again, like a stale one.
    stale = [row["pk"] for row in rows if row["pk"] not in stored or not _COMPLETE.issubset(stored[row["pk"]])]
    built = build_documents(stale) if stale else {}
    tz = timezone.get_current_timezone()
    documents = []
    for row in rows:
        document = built.get(row["pk"])
        if document is None:
            document = stored[row["pk"]]
            created = document.pop("created_at")
            document.update(
                state=row["state"],
                revision=row["revision"],
                created_at=created,
                updated_at=_datetime(row["updated_at"], tz),
            )
        documents.append(document)
    return documents


def current_document(service: Service) -> dict[str, Any]:
    """One service's document, as ``service_documents`` reads it."""
    return service_documents([service])[0]


def refresh_document(service: Service) -> dict[str, Any]:
    """The document of a service just written, built from the tables; its spec is stored on the row and on
    ``service`` (in the write's transaction), so reading it back costs nothing."""
    document = build_documents([service.pk])[service.pk]
    service.spec_json, service.spec_revision = _spec(document), service.revision
    return document


def store_document(service: Service, document: dict[str, Any]) -> None:
    """Keep ``document`` as the spec of ``service`` at its revision, for the caller's save to write: an edit of the
    service's own columns, whose sections' rows did not change, knows its document without building it."""
    service.spec_json, service.spec_revision = _spec(document), service.revision


def live_keys(service: Service) -> dict[str, Any]:
    """The document's keys that change without an edit, as a saved service has them."""
    return {
        "state": service.state,
        "revision": service.revision,
        "updated_at": _datetime(service.updated_at),
    }


def _spec(document: dict) -> str:
    spec = {k: v for k, v in document.items() if k not in LIVE_KEYS and k != "created_at"}
    spec["created_at"] = document["created_at"]  # last: the live keys follow it in a document
    return orjson.dumps(spec).decode()


def forget_specs(services) -> None:
    """Mark stored specs out of date (a related row changed outside the catalog's write path)."""
    Service.objects.filter(pk__in=services).exclude(spec_json="").update(spec_json="")


def validated_document(data: dict) -> dict[str, Any]:
    """A service serializer's validated data (related rows as instances) as the document it will store."""
    document = dict(data)
    if "team" in document:
        document["team"] = document["team"].slug
    if "exposure" in document:
        routes = [{**route, "service": route["service"].name} for route in document["exposure"]["routes"]]
        document["exposure"] = {**document["exposure"], "routes": routes}
    if "traffic" in document:
        callers = sorted(caller.name for caller in document["traffic"]["allowed_callers"])
        document["traffic"] = {**document["traffic"], "allowed_callers": callers}
    return jsonable(document)


def holds_document(service: Service, data: dict) -> bool:
    """Whether the service's document already is this validated data (live keys aside)."""
    current = {k: v for k, v in current_document(service).items() if k not in LIVE_KEYS and k != "created_at"}
    declared = validated_document(data)
    declared["traffic"]["hash_on"] = declared["traffic"].get("hash_on") or None
    return declared == current


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result[key] = None
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
