"""Backstage interop: the catalog as Backstage entities, and Backstage's ``catalog-info.yaml`` read into it.

Export: a ``Group`` per team (its members from the memberships, its owners in the ``portal.io/owners``
annotation) and a ``Component`` per service (``spec.type: service``, the lifecycle, ``owner: group:default/<team>``,
the Kubernetes annotations, links to the service's page, its team's on-call calendar and its runbook (``type:
runbook``), and ``dependsOn``: the services it routes to and those that allow it as a caller).

Import maps the same entities back: ``Group`` → team (members who already have an account join it),
``Component`` with ``spec.type: service`` → service with the portal's defaults (mesh only), its ``runbook`` link
its runbook URL, ``dependsOn`` another component → this one among that service's allowed callers. Everything
else is listed as skipped with the reason.
Writes go through ``services`` and every service document through the API's serializer; a request is all or
nothing, and a second import of the same file changes nothing.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.exceptions import PermissionDenied

from portal.core.permissions import is_sre
from provisioning.spec import is_dns1123_label

from .. import services
from ..choices import Lifecycle, MembershipRole
from ..documents import current_document, holds_document, service_documents
from ..models import Service, Team
from ..permissions import can_manage_team
from .serializers import ServiceSerializer
from .specfiles import Problem, SpecError, error_paths, parse_documents

API_VERSION = "backstage.io/v1alpha1"
NAMESPACE = "default"
OWNERS_ANNOTATION = "portal.io/owners"
# The portal's lifecycles are Backstage's well-known ones.
LIFECYCLES = {value: value for value in Lifecycle.values}
LIVE = ("state", "revision", "created_at", "updated_at")
# The link type of a service's runbook among a Component's links (read back as its runbook_url).
RUNBOOK_LINK = "runbook"


# --- export ------------------------------------------------------------------------------------------------------


def export_entities() -> list[dict[str, Any]]:
    """Every team as a Group, then every service as a Component, in name order."""
    base = settings.PORTAL_PUBLIC_URL.rstrip("/")
    groups = [_group(team) for team in Team.objects.prefetch_related("memberships__user").order_by("slug")]
    documents = service_documents(list(Service.objects.order_by("name")))
    depends: dict[str, set[str]] = {d["name"]: set() for d in documents}
    for document in documents:
        for caller in document["traffic"]["allowed_callers"]:
            depends.setdefault(caller, set()).add(document["name"])
        for route in document["exposure"]["routes"]:
            depends[document["name"]].add(route["service"])
    return groups + [_component(d, sorted(depends[d["name"]]), base) for d in documents]


def _group(team: Team) -> dict[str, Any]:
    memberships = sorted(team.memberships.all(), key=lambda m: m.user.username)
    owners = [m.user.username for m in memberships if m.role == MembershipRole.OWNER]
    return {
        "apiVersion": API_VERSION,
        "kind": "Group",
        "metadata": {"name": team.slug, "title": team.name, "annotations": {OWNERS_ANNOTATION: ",".join(owners)}},
        "spec": {
            "type": "team",
            "profile": {"displayName": team.name},
            "children": [],
            "members": [m.user.username for m in memberships],
        },
    }


def _component(document: dict, depends_on: list[str], base: str) -> dict[str, Any]:
    name, team = document["name"], document["team"]
    metadata: dict[str, Any] = {"name": name}
    if document["description"]:
        metadata["description"] = document["description"]
    metadata["annotations"] = {"backstage.io/kubernetes-id": name, "backstage.io/kubernetes-namespace": name}
    metadata["links"] = [
        {"url": f"{base}/services/{name}/", "title": "Platform portal"},
        {"url": f"{base}/api/v1/teams/{team}/oncall.ics", "title": "On-call calendar"},
    ]
    if document["runbook_url"]:
        metadata["links"].append({"url": document["runbook_url"], "title": "Runbook", "type": RUNBOOK_LINK})
    return {
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": metadata,
        "spec": {
            "type": "service",
            "lifecycle": LIFECYCLES[document["lifecycle"]],
            "owner": f"group:{NAMESPACE}/{team}",
            "dependsOn": [f"component:{NAMESPACE}/{other}" for other in depends_on],
        },
    }


# --- import ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    document: int
    action: str  # create | update
    kind: str  # team | service
    name: str

    def __str__(self) -> str:
        return f"{self.action} {self.kind} {self.name} (document {self.document})"

    def as_dict(self) -> dict[str, Any]:
        return {"document": self.document, "action": self.action, "kind": self.kind, "name": self.name}


@dataclass(frozen=True)
class Skipped:
    document: int
    entity: str
    reason: str

    def __str__(self) -> str:
        return f"skipped document {self.document} ({self.entity}): {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"document": self.document, "entity": self.entity, "reason": self.reason}


def _ref(value: Any, kind: str) -> str | None:
    """The name in an entity reference of ``kind`` in the default namespace (``[kind:][default/]name``)."""
    if not isinstance(value, str):
        return None
    ref_kind, _, rest = value.rpartition(":") if ":" in value else (kind, "", value)
    namespace, _, name = rest.rpartition("/") if "/" in rest else (NAMESPACE, "", rest)
    if ref_kind.lower() != kind or namespace != NAMESPACE:
        return None
    return name


def import_entities(text: str, *, json_text: bool = False, user=None, dry_run: bool = False):
    """Read catalog-info documents into the catalog: (changes, skipped). Raises ``SpecError`` (nothing written)
    when a document is invalid, ``PermissionDenied`` when ``user`` may not change a team or service it touches."""
    documents = parse_documents(text, json_text=json_text)
    problems: list[Problem] = []
    groups: dict[str, tuple[int, dict]] = {}
    components: dict[str, tuple[int, dict]] = {}
    skipped: list[Skipped] = []
    for index, entity in enumerate(documents):
        if not isinstance(entity, dict) or not isinstance(entity.get("metadata"), dict):
            problems.append(Problem(index, "", "must be an entity with apiVersion, kind and metadata"))
            continue
        kind, name = entity.get("kind"), entity["metadata"].get("name")
        label = f"{kind} {name}"
        spec = entity.get("spec") if isinstance(entity.get("spec"), dict) else {}
        if not str(entity.get("apiVersion", "")).startswith("backstage.io/"):
            problems.append(Problem(index, "apiVersion", "must be a backstage.io version", label))
        elif kind == "Group":
            groups[str(name)] = (index, entity)
        elif kind == "Component" and spec.get("type") == "service":
            components[str(name)] = (index, entity)
        elif kind == "Component":
            skipped.append(Skipped(index, label, f"spec.type {spec.get('type')!r}: only services are registered"))
        else:
            skipped.append(Skipped(index, label, f"kind {kind!r} has no counterpart in the portal"))

    for name, (index, entity) in groups.items():
        label, spec = f"Group {name}", entity.get("spec") if isinstance(entity.get("spec"), dict) else {}
        if not is_dns1123_label(name):
            problems.append(Problem(index, "metadata.name", "a team's slug must be a DNS-1123 label", label))
        for key, kind in (("members", list), ("profile", dict)):
            if spec.get(key) is not None and not isinstance(spec[key], kind):
                problems.append(
                    Problem(index, f"spec.{key}", f"must be a{'n object' if kind is dict else ' list'}", label)
                )
        annotations = entity["metadata"].get("annotations")
        if annotations is not None and not isinstance(annotations, dict):
            problems.append(Problem(index, "metadata.annotations", "must be an object", label))
    teams = set(Team.objects.values_list("slug", flat=True)) | set(groups)
    known = set(Service.objects.values_list("name", flat=True)) | set(components)
    callers: dict[str, set[str]] = {}
    for name, (index, entity) in components.items():
        label, spec = f"Component {name}", entity["spec"]
        owner = _ref(spec.get("owner"), "group")
        if owner is None or owner not in teams:
            problems.append(
                Problem(index, "spec.owner", f"no group {spec.get('owner')!r} in the file or the portal", label)
            )
        if not isinstance(spec.get("lifecycle"), str) or spec["lifecycle"] not in LIFECYCLES:
            problems.append(Problem(index, "spec.lifecycle", f"must be one of {', '.join(LIFECYCLES)}", label))
        if not isinstance(entity["metadata"].get("links") or [], list):
            problems.append(Problem(index, "metadata.links", "must be a list of links", label))
        if not isinstance(spec.get("dependsOn") or [], list):
            problems.append(Problem(index, "spec.dependsOn", "must be a list of entity references", label))
        for i, ref in enumerate(spec.get("dependsOn") if isinstance(spec.get("dependsOn"), list) else []):
            target = _ref(ref, "component")
            if target in known:
                callers.setdefault(target, set()).add(name)
            elif target is None and _ref(ref, "resource") is None:
                problems.append(Problem(index, f"spec.dependsOn[{i}]", f"{ref!r} is no entity reference", label))
    if problems:
        raise SpecError(problems)

    with transaction.atomic():
        changes = _write(groups, components, callers, user)
        if dry_run:
            transaction.set_rollback(True)
    return changes, skipped


def _allowed(user, team: Team | None) -> None:
    """Owners import into their teams, SREs into all (and only they create teams); the command (None) anything."""
    if user is None:
        return
    if team is None and not is_sre(user):
        raise PermissionDenied("Only platform SREs may create teams by import.")
    if team is not None and not can_manage_team(user, team):
        raise PermissionDenied(f"Only owners of team {team.slug!r} and SREs may import into it.")


def _write(groups: dict, components: dict, callers: dict[str, set[str]], user) -> list[Change]:
    changes: list[Change] = []
    users = get_user_model().objects
    for slug, (index, entity) in sorted(groups.items()):
        spec = entity.get("spec") if isinstance(entity.get("spec"), dict) else {}
        title = str((spec.get("profile") or {}).get("displayName") or entity["metadata"].get("title") or slug)
        annotations = entity["metadata"].get("annotations") or {}
        owners = set(filter(None, str(annotations.get(OWNERS_ANNOTATION, "")).split(",")))
        team = Team.objects.filter(slug=slug).first()
        created = team is None
        changed = created or team.name != title[:100]
        if created:
            _allowed(user, None)
            team = services.create_team({"slug": slug, "name": title[:100]}, owner=None)
        elif changed:
            _allowed(user, team)
            services.update_team(team, {"name": title[:100]})
        present = set(team.memberships.values_list("user__username", flat=True))
        wanted = {_ref(m, "user") for m in spec.get("members") or []} - {None} - present
        for member in sorted(wanted & set(users.filter(username__in=wanted).values_list("username", flat=True))):
            if not changed:
                _allowed(user, team)
                changed = True
            role = MembershipRole.OWNER if member in owners else MembershipRole.MEMBER
            services.add_member(team, member, role)
        if changed:
            changes.append(Change(index, "create" if created else "update", "team", slug))

    declared: dict[str, int] = {}
    # Two passes: first every service (a new one without callers yet), then the callers among them.
    for final in (False, True):
        for name, (index, entity) in sorted(components.items(), key=lambda item: item[1][0]):
            existing = Service.objects.select_for_update().select_related("team").filter(name=name).first()
            document = _document(existing, entity, callers.get(name, set()), final)
            serializer = ServiceSerializer(existing, data=document)
            if not serializer.is_valid():
                raise SpecError(
                    [Problem(index, _path(p), m, f"Component {name}") for p, m in error_paths(serializer.errors, "")]
                )
            team = serializer.validated_data["team"]
            if existing is None or not holds_document(existing, serializer.validated_data):
                _allowed(user, team)
                if existing is not None:
                    _allowed(user, existing.team)
            _, result = services.declare_service(existing, serializer.validated_data, actor=user)
            if result != services.UNCHANGED and name not in declared:
                declared[name] = index
                changes.append(Change(index, "create" if result == services.CREATED else "update", "service", name))
    return changes


def _document(existing: Service | None, entity: dict, callers: set[str], final: bool) -> dict[str, Any]:
    spec, metadata = entity.get("spec") or {}, entity["metadata"]
    base = {k: v for k, v in current_document(existing).items() if k not in LIVE} if existing else {}
    present = set(base.get("traffic", {}).get("allowed_callers", []))
    ready = set(Service.objects.filter(name__in=callers).values_list("name", flat=True))
    allowed = sorted(present | (callers if final else ready))
    document = {
        **base,
        "name": metadata["name"],
        "team": _ref(spec.get("owner"), "group"),
        "description": metadata.get("description", ""),
        "lifecycle": spec.get("lifecycle"),
        "runbook_url": _runbook(metadata.get("links")),
    }
    document["traffic"] = {**base.get("traffic", {}), "allowed_callers": allowed}
    return document


def _runbook(links: Any) -> str:
    """The URL of the first link of type ``runbook``; empty without one."""
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("type") == RUNBOOK_LINK:
            return link.get("url") if isinstance(link.get("url"), str) else ""
    return ""


def _path(field_path: str) -> str:
    head = field_path.split(".", 1)[0]
    return {
        "name": "metadata.name",
        "team": "spec.owner",
        "description": "metadata.description",
        "runbook_url": "metadata.links",
    }.get(head, f"spec.{field_path}" if field_path else "spec")
