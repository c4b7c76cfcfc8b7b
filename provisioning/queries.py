"""What portal may read of provisioning: runs and plans (a constant number of queries however many rows there
are), the inventory's answers, and the rendered desired state as people read it (secret values hidden)."""

import base64

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from . import snapshot
from .analysis import portal_findings, scope_findings
from .aws.kinds import CERTIFICATE, RECORD
from .choices import ACTIVE_STATUSES, RunAction, RunStatus
from .desired import render_service
from .desired.platform import render_platform
from .desired.prometheus import dashboard_uid
from .diff import REDACTED
from .graph import Graph, service_graph
from .models import ManagedResource, Plan, ProvisioningRun, RunStep
from .names import platform_hosts
from .resources import AWS, KUBERNETES, Resource, to_yaml, to_yaml_documents
from .scopes import service_key, service_of
from .snapshot import load_service, platform_snapshot
from .spec import reserved_hostnames

# --- runs and plans ------------------------------------------------------------------------------------


def run_queryset() -> QuerySet:
    """Runs with their plan, people, service and ordered steps."""
    return ProvisioningRun.objects.select_related(
        "plan", "requested_by", "approved_by", "service__team"
    ).prefetch_related(Prefetch("steps", queryset=RunStep.objects.order_by("position")))


def active_run(scope: str) -> ProvisioningRun | None:
    """The scope's unfinished run, if any."""
    return ProvisioningRun.objects.filter(scope=scope, status__in=ACTIVE_STATUSES).first()


def with_last_run(services: QuerySet) -> QuerySet:
    """Services annotated with their latest run's id and status (``last_run_id``, ``last_run_status``)."""
    latest = ProvisioningRun.objects.filter(service=OuterRef("pk")).order_by("-created_at", "-pk")
    return services.annotate(
        last_run_id=Subquery(latest.values("pk")[:1]),
        last_run_status=Subquery(latest.values("status")[:1]),
    )


# The outcomes of an apply run: a cancelled or rejected one changed nothing, an unfinished one has none yet.
APPLY_OUTCOMES = (RunStatus.SUCCEEDED, RunStatus.FAILED)


def with_run_outcomes(services: QuerySet) -> QuerySet:
    """Services annotated with their latest finished apply (``last_apply_id``, ``last_apply_status``,
    ``last_apply_at``), their latest finished drift check (``last_drift_id``, ``last_drift_status``,
    ``last_drift_found``, ``last_drift_at``) and their latest apply plan's id (``last_plan_id``: made by a plan
    request or an apply run, never a drift check's, which checks no wiring); one query however many services."""
    newest = ("-created_at", "-pk")
    applies = ProvisioningRun.objects.filter(
        service=OuterRef("pk"), action=RunAction.APPLY, status__in=APPLY_OUTCOMES
    ).order_by(*newest)
    drifts = ProvisioningRun.objects.filter(
        service=OuterRef("pk"), action=RunAction.DRIFT_CHECK, status__in=APPLY_OUTCOMES
    ).order_by(*newest)
    plans = (
        Plan.objects.filter(service=OuterRef("pk"), action=RunAction.APPLY)
        .exclude(runs__action=RunAction.DRIFT_CHECK)
        .order_by(*newest)
    )
    return services.annotate(
        last_apply_id=Subquery(applies.values("pk")[:1]),
        last_apply_status=Subquery(applies.values("status")[:1]),
        last_apply_at=Subquery(applies.values("finished_at")[:1]),
        last_drift_id=Subquery(drifts.values("pk")[:1]),
        last_drift_status=Subquery(drifts.values("status")[:1]),
        last_drift_found=Subquery(drifts.values("drift_found")[:1]),
        last_drift_at=Subquery(drifts.values("finished_at")[:1]),
        last_plan_id=Subquery(plans.values("pk")[:1]),
    )


def plan_findings(plan_ids: list[int]) -> dict[int, tuple[int, list[dict]]]:
    """Plans' catalog revisions and wiring findings by id, in one query."""
    rows = Plan.objects.filter(pk__in=plan_ids).values_list("pk", "catalog_revision", "findings")
    return {pk: (revision, findings or []) for pk, revision, findings in rows}


def pending_approvals() -> QuerySet:
    """Runs waiting for an SRE, oldest first."""
    return run_queryset().filter(status=RunStatus.AWAITING_APPROVAL).order_by("created_at", "pk")


# --- the inventory -------------------------------------------------------------------------------------


def hostname_holders(hostnames: list[str], service: str | None) -> dict[str, str]:
    """Hostnames whose DNS record or certificate still exists in AWS for another service: hostname -> service.

    A service that gave a hostname up keeps its record and certificate until its next apply removes them;
    until then nobody else may claim the name (no takeover of a live record or certificate).
    """
    rows = ManagedResource.objects.filter(provider=AWS, kind__in=[RECORD, CERTIFICATE], name__in=hostnames)
    if service:
        rows = rows.exclude(scope=service_key(service))
    return {name: service_of(scope) for name, scope in rows.values_list("name", "scope")}


def platform_hostnames(settings_row=None) -> set[str]:
    """The hostnames the platform itself serves (OAuth2 Proxy's sign-in host, its UIs): no service may take one."""
    return {host for hosts in platform_hosts(platform_snapshot(settings_row, outputs=False)).values() for host in hosts}


def platform_reserved_hostnames(settings_row=None) -> dict[str, str]:
    """The hostnames only SREs may give a service under these platform settings, each with why
    (``spec.reserved_hostnames``)."""
    return reserved_hostnames(platform_snapshot(settings_row, outputs=False))


def services_with_aws_resources() -> QuerySet:
    """The ids of the services the inventory records AWS resources for (applied at least once with an AWS half)."""
    return ManagedResource.objects.filter(provider=AWS, service__isnull=False).values("service_id")


def _is_secret(resource: ManagedResource) -> bool:
    return resource.provider == KUBERNETES and resource.kind == "Secret"


def applied_yaml(resource: ManagedResource) -> str:
    """The body last applied to an inventory row, as YAML with secret values hidden."""
    return to_yaml(
        redacted(
            Resource(
                provider=resource.provider,
                kind=resource.kind,
                name=resource.name,
                body=resource.applied_body,
                sensitive=_is_secret(resource),
            )
        )
    )


def shown_drift(resource: ManagedResource) -> list[dict]:
    """An inventory row's drift, field by field, with a Secret's values hidden."""
    drift = resource.drift or []
    if not _is_secret(resource):
        return drift
    return [
        {**d, "old": REDACTED, "new": REDACTED} if d["path"].startswith(("data", "stringData")) else d for d in drift
    ]


# --- what the portal renders ---------------------------------------------------------------------------


def redacted(resource: Resource) -> dict:
    """The body with secret values replaced, keys kept (so people see what a Secret holds)."""
    if not resource.sensitive:
        return resource.body
    body = dict(resource.body)
    for key in ("data", "stringData"):
        if key in body:
            body[key] = {k: base64.b64encode(REDACTED.encode()).decode() for k in body[key]}
    return body


def document(resource: Resource) -> dict:
    """A Kubernetes object as its manifest; an AWS resource as its kind, name and declared spec."""
    if resource.provider == KUBERNETES:
        return redacted(resource)
    head = {"provider": resource.provider, "kind": resource.kind, "name": resource.name}
    if resource.namespace:
        head["scope"] = resource.namespace
    return {**head, "spec": resource.body}


def rendered_yaml(service_name: str, provider: str = KUBERNETES) -> str:
    """What the portal renders for a service now, of one provider, as YAML documents."""
    resources = render_service(load_service(service_name), platform_snapshot())
    return to_yaml_documents([document(r) for r in resources if r.provider == provider])


def aws_specs(service_name: str) -> list[tuple[str, str, str]]:
    """The AWS resources the portal renders for a service now, as (kind, name, YAML of the declared spec)."""
    resources = render_service(load_service(service_name), platform_snapshot())
    return [(r.kind, r.name, to_yaml(redacted(r))) for r in resources if r.provider == AWS]


def platform_outputs(settings_row=None) -> dict[str, str]:
    """What the platform's shared AWS pieces report (zone ids, ALB ARNs and DNS names, ...), from the inventory."""
    return snapshot.platform_outputs(settings_row)


def rendered_platform_yaml(provider: str = KUBERNETES) -> str:
    """The platform layer's rendered objects of one provider as YAML documents (secret values hidden)."""
    return to_yaml_documents([document(r) for r in render_platform(platform_snapshot()) if r.provider == provider])


def resource_graph(service_name: str) -> tuple[Graph, str]:
    """The picture of a service's resources down to its on-call pair, and its SVG (``GraphError`` when it
    cannot be drawn)."""
    return service_graph(service_name)


# --- the wiring checks ---------------------------------------------------------------------------------------


def service_analysis(name: str) -> list[dict]:
    """The wiring checks' findings on a service's desired state (with the platform layer and the services it
    routes to and from), as ``{code, severity, object, path, message}``."""
    platform = platform_snapshot()
    desired = render_service(load_service(name), platform)
    return [f.as_dict() for f in scope_findings(service_key(name), desired, platform)]


def portal_analysis() -> list[dict]:
    """Every finding of the portal's whole desired state: the platform layer and every active service."""
    return [f.as_dict() for f in portal_findings()]


def grafana_dashboard_url(name: str) -> str:
    """The service's dashboard on the platform's Grafana: the uid its dashboard ConfigMap gives it."""
    return f"{platform_snapshot(outputs=False).grafana_url.rstrip('/')}/d/{dashboard_uid(name)}"
