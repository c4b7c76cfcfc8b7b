"""The catalog's write path: services, teams and memberships are created and changed here, each write in one
transaction with its audit record, plus the checks that need the catalog and the inventory (hostnames).

Callers validate first (the API's serializers, which the pages and the admin use too) and pass the validated
data; these functions hold no HTTP or form concerns.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from portal.audit.context import current_request
from portal.audit.log import record
from provisioning.queries import hostname_holders, platform_hostnames, platform_reserved_hostnames
from provisioning.spec import BASICS, jsonable

from .choices import MatchType, MembershipRole, MembershipSource
from .documents import (
    current_document,
    holds_document,
    live_keys,
    refresh_document,
    store_document,
    validated_document,
)
from .models import Exposure, Hostname, Membership, PlatformSettings, Route, Service, Team, Telemetry, Traffic
from .validators import zone_for

SECTION_KEYS = ("exposure", "traffic", "telemetry")


class ChangeRefused(Exception):
    """A change the catalog's rules refuse as things stand (the team's last owner, a membership from the IdP)."""


class Taken(Exception):
    """A name that another request took between this one's validation and its write (two at once); nothing of
    this write was saved. ``errors`` names the fields as the serializers do."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


def _race_lost(errors: dict) -> Taken:
    # Found nothing taken: the other write was not about a name after all.
    return Taken(errors or {"non_field_errors": ["Another change conflicted with this one; try again."]})


# --- services ------------------------------------------------------------------------------------------------


def create_service(data: dict[str, Any], *, actor=None, request=None) -> Service:
    """Register a service from validated data (its sections' defaults filled in by validation); ``Taken`` when
    another request took its name or a hostname meanwhile."""
    try:
        with transaction.atomic():
            return _create_service(data, actor=actor, request=request)
    except IntegrityError:
        errors = _hostnames_taken(data, data["name"])
        if Service.objects.filter(name=data["name"]).exists():
            errors["name"] = [f"A service named {data['name']!r} was registered meanwhile; choose another name."]
        raise _race_lost(errors) from None


def _create_service(data: dict[str, Any], *, actor, request) -> Service:
    columns = {k: v for k, v in data.items() if k not in SECTION_KEYS}
    service = Service.objects.create(**columns, created_by=actor)
    _write_sections(service, data, created=True)
    after = refresh_document(service)
    _audit("service.create", service, None, after, actor=actor, request=request)
    return service


def update_service(service: Service, data: dict[str, Any], *, actor=None, request=None) -> Service:
    """Change a service to validated data (a whole document; the caller merges a partial one); the revision moves.
    ``Taken`` when another request took one of its new hostnames meanwhile."""
    try:
        with transaction.atomic():
            return _update_service(service, data, actor=actor, request=request)
    except IntegrityError:
        raise _race_lost(_hostnames_taken(data, service.name)) from None


def _hostnames_taken(data: dict[str, Any], service: str) -> dict:
    hostnames = data.get("exposure", {}).get("hostnames") or []
    taken = Hostname.objects.filter(fqdn__in=hostnames).exclude(exposure__service__name=service)
    owners = taken.select_related("exposure__service").order_by("fqdn")
    messages = [f"{h.fqdn!r} was taken meanwhile by service {h.exposure.service.name!r}." for h in owners]
    return {"exposure": {"hostnames": messages}} if messages else {}


def _update_service(service: Service, data: dict[str, Any], *, actor, request) -> Service:
    before = current_document(service)
    for column, value in data.items():
        if column not in SECTION_KEYS:
            setattr(service, column, value)
    service.revision += 1
    changed = changed_sections(before, data)
    if changed:
        service.save()
        _write_sections(service, data, created=False, sections=changed)
        after = refresh_document(service)
    else:
        # Only the service's own columns changed: its sections' rows stay, and so does their part of the document,
        # which is stored with the row in the one UPDATE.
        after = {**before, "team": service.team.slug, **{name: getattr(service, name) for name in BASICS}}
        store_document(service, after)
        service.save()
        after |= live_keys(service)
    _audit("service.update", service, before, after, actor=actor, request=request)
    return service


def changed_sections(before: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """The sections of validated data that differ from the service's document ``before``."""
    declared = validated_document({key: data[key] for key in SECTION_KEYS})
    declared["traffic"]["hash_on"] = declared["traffic"].get("hash_on") or None
    return [key for key in SECTION_KEYS if declared[key] != before[key]]


def routes_to(service: Service) -> list[dict[str, str]]:
    """The header routes of other services that send requests to ``service``, as documented, with their team."""
    rows = Route.objects.filter(target=service).select_related("exposure__service__team")
    return [
        {
            "service": route.exposure.service.name,
            "team": route.exposure.service.team.slug,
            "header": route.header,
            route.match: route.value,
        }
        for route in rows.order_by("exposure__service__name", "position")
    ]


@transaction.atomic
def remove_routes_to(service: Service, *, actor=None, request=None) -> list[Service]:
    """Take every route to ``service`` out of the services that have them (it is being deleted): each one is an
    edit of that service, its revision moved and its audit record saying why, for its team to read."""
    # PostgreSQL locks no DISTINCT rows: the routing services' ids first, then their rows, locked.
    ids = set(Route.objects.filter(target=service).values_list("exposure_id", flat=True))
    routing = Service.objects.select_for_update().filter(pk__in=ids).select_related("team").order_by("name")
    changed = []
    for other in routing:
        before = current_document(other)
        Route.objects.filter(exposure_id=other.pk, target=service).delete()
        other.revision += 1
        other.save()
        after = refresh_document(other)
        record(
            "service.update",
            "service",
            other.name,
            actor=actor,
            request=request or current_request(),
            team=other.team.slug,
            before=_without_update_time(before),
            after=_without_update_time(after),
            detail=f"Routes to {service.name} removed: {service.name} is being deleted by its team "
            f"{service.team.slug}.",
        )
        changed.append(other)
    return changed


# What declaring a service did.
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@transaction.atomic
def declare_service(service: Service | None, data: dict[str, Any], *, actor=None, request=None) -> tuple[Service, str]:
    """Make the catalog hold this whole document (validated data): register the service when ``service`` is None,
    replace its document when it differs, and change nothing (no revision, no audit record) when it holds it
    already, so automation can send the same declaration again and again."""
    if service is None:
        return create_service(data, actor=actor, request=request), CREATED
    if holds_document(service, data):
        return service, UNCHANGED
    return update_service(service, data, actor=actor, request=request), UPDATED


def _without_update_time(document: dict | None) -> dict | None:
    # It changes with every save; the audit log keeps what people changed.
    return {k: v for k, v in document.items() if k != "updated_at"} if document else None


def _audit(action: str, service: Service, before: dict | None, after: dict, *, actor, request) -> None:
    record(
        action,
        "service",
        service.name,
        actor=actor,
        request=request or current_request(),
        team=service.team.slug,
        before=_without_update_time(before),
        after=_without_update_time(after),
    )


def _write_sections(
    service: Service, data: dict[str, Any], *, created: bool, sections: list[str] | tuple[str, ...] = SECTION_KEYS
) -> None:
    """Write the sections' rows (``sections``: those that changed; all of them for a new service)."""
    if "exposure" in sections:
        _write_exposure(service, data, created=created)
    if "traffic" in sections:
        _write_traffic(service, data)
    if "telemetry" in sections:
        telemetry = dict(data["telemetry"])
        telemetry["slo"] = jsonable(telemetry.get("slo"))
        Telemetry.objects.update_or_create(service=service, defaults=telemetry)


def _write_exposure(service: Service, data: dict[str, Any], *, created: bool) -> None:
    exposure = dict(data["exposure"])
    hostnames, routes = exposure.pop("hostnames"), exposure.pop("routes")
    exposure_row, _ = Exposure.objects.update_or_create(service=service, defaults=exposure)
    if not created:
        exposure_row.hostnames.all().delete()
        exposure_row.routes.all().delete()
    Hostname.objects.bulk_create(Hostname(exposure=exposure_row, fqdn=h, position=i) for i, h in enumerate(hostnames))
    Route.objects.bulk_create(
        Route(
            exposure=exposure_row,
            position=i,
            header=route["header"],
            match=next(m for m in MatchType.values if m in route),
            value=next(route[m] for m in MatchType.values if m in route),
            target=route["service"],
        )
        for i, route in enumerate(routes)
    )


def _write_traffic(service: Service, data: dict[str, Any]) -> None:
    traffic = dict(data["traffic"])
    callers = traffic.pop("allowed_callers")
    traffic["hash_on"] = traffic.get("hash_on") or ""
    for key in ("canary", "retries", "outlier_detection", "connection_pool"):
        traffic[key] = jsonable(traffic.get(key))
    traffic["external_dependencies"] = jsonable(traffic.get("external_dependencies") or [])
    traffic_row, _ = Traffic.objects.update_or_create(service=service, defaults=traffic)
    traffic_row.allowed_callers.set(callers)


def hostname_errors(
    hostnames: list[str], level: str, service: str | None, platform: PlatformSettings, *, may_reserve: bool = False
) -> list[str]:
    """Why ``service`` may not use these hostnames at ``level``: outside the level's zone, reserved for the platform
    (unless ``may_reserve``: an SRE; a name the service already holds stays), another service's in the catalog, or
    still served in AWS for another service (its record or certificate not yet removed)."""
    zone = platform.zones[level]
    if not hostnames:
        return [f"An '{level}' service needs at least one hostname under {zone}."]
    errors = []
    reserved = platform_reserved_hostnames(platform)
    served = platform_hostnames(platform)
    held = set(Hostname.objects.filter(exposure__service__name=service).values_list("fqdn", flat=True))
    for host in hostnames:
        if host in served:
            # Served by the platform itself: its record and certificate are the platform's, so no service (not even
            # an SRE's) may take the name.
            why = reserved.get(host, "a host of the platform")
            errors.append(
                f"{host!r} is reserved for the platform: {why}. The platform itself serves it (its sign-in or a "
                "platform UI), so no service may use it."
            )
        elif not may_reserve and host in reserved and host not in held:
            errors.append(f"{host!r} is reserved for the platform: {reserved[host]}. Only SREs may use it.")
    zones = [platform.internal_zone, platform.external_zone]
    for host in hostnames:
        found = zone_for(host, zones)
        if found != zone:
            where = f"it belongs to the {found} zone" if found else "it is in neither platform zone"
            errors.append(f"{host!r} must lie under {zone} for '{level}'; {where}.")
    taken = Hostname.objects.filter(fqdn__in=hostnames).exclude(exposure__service__name=service)
    for owner in taken.select_related("exposure__service"):
        errors.append(f"{owner.fqdn!r} is already used by service {owner.exposure.service.name!r}.")
    claimed = {h.fqdn for h in taken}
    for host, holder in sorted(hostname_holders(hostnames, service).items()):
        if host not in claimed:
            errors.append(
                f"{host!r} still has a DNS record or certificate in AWS for service {holder!r}; "
                f"apply {holder!r} (or finish deleting it) before the name can move."
            )
    return errors


# --- teams and memberships -------------------------------------------------------------------------------------
# Teams and memberships are one table each: their audit records come from portal.audit's save signals, which
# fire inside these transactions (and also cover the admin, the IdP sync and create_api_token).


def create_team(data: dict[str, Any], *, owner) -> Team:
    """A new team, owned by whoever creates it (None: an import, which adds its members itself); ``Taken`` when
    another request took its slug meanwhile."""
    try:
        with transaction.atomic():
            team = Team.objects.create(**data)
            if owner is not None:
                Membership.objects.create(team=team, user=owner, role=MembershipRole.OWNER)
            return team
    except IntegrityError:
        errors = {}
        if Team.objects.filter(slug=data["slug"]).exists():
            errors["slug"] = [f"A team {data['slug']!r} was created meanwhile; choose another slug."]
        raise _race_lost(errors) from None


@transaction.atomic
def update_team(team: Team, data: dict[str, Any]) -> Team:
    for field, value in data.items():
        setattr(team, field, value)
    team.revision += 1
    team.save()
    return team


@transaction.atomic
def add_member(team: Team, username: str, role: str) -> Membership:
    user = get_user_model().objects.get(username=username)
    return Membership.objects.create(team=team, user=user, role=role, source=MembershipSource.LOCAL)


@transaction.atomic
def change_role(membership: Membership, role: str) -> Membership:
    """Give a member another role; refused for the team's last owner and for memberships from the IdP."""
    if refusal := membership.change_refusal(role):
        raise ChangeRefused(refusal)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_member(membership: Membership) -> None:
    """Take a member out of the team; refused for the team's last owner and for memberships from the IdP."""
    if refusal := membership.change_refusal(None):
        raise ChangeRefused(refusal)
    membership.delete()
