"""Pages of runs: the plan as a diff, apply with live progress, run history, manifests, the resource graph and
the SREs' approvals queue. ``provisioning.operations`` does the work; these views ask
``portal.catalog.permissions`` who may act and turn provisioning's errors into messages that say what to do."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.catalog.models import Service
from portal.catalog.permissions import can_act_on_run, can_approve, can_edit_team_content, require_team_member
from portal.core.text import sentence
from provisioning.choices import RunStatus
from provisioning.errors import GraphError, PermanentError, RunInProgress, TemporaryError
from provisioning.models import Plan, ProvisioningRun
from provisioning.operations import (
    apply_service,
    approve_run,
    cancel_run,
    drift_check_service,
    plan_service,
    reject_run,
)
from provisioning.queries import (
    active_run,
    aws_specs,
    pending_approvals,
    rendered_yaml,
    resource_graph,
    run_queryset,
)
from provisioning.scopes import service_key, service_of

from .display import plan_groups


def _service(name: str) -> Service:
    return get_object_or_404(Service.objects.select_related("team"), name=name)


def require_approver(request) -> None:
    if not can_approve(request.user):
        raise PermissionDenied("Only platform SREs approve changes. Ask in the platform team's channel.")


# --- plan and apply ------------------------------------------------------------------------------------


@login_required
@require_POST
def plan_create(request, name: str):
    service = _service(name)
    require_team_member(request, service, "plan")
    try:
        plan = plan_service(service, request.user)
    except TemporaryError as exc:
        messages.error(
            request,
            f"Could not read the current state of {name}'s resources: {exc}. Nothing was changed. Try again in a "
            "minute; if it keeps failing, tell the platform SREs.",
        )
        return redirect("catalog:service_detail", name=name)
    except PermanentError as exc:
        messages.error(request, f"Could not plan {name}: {sentence(exc)}")
        return redirect("catalog:service_detail", name=name)
    return redirect("provisioning:plan_detail", pk=plan.pk)


@login_required
def plan_detail(request, pk: int):
    plan = get_object_or_404(Plan.objects.select_related("service__team", "created_by"), pk=pk)
    service = plan.service
    stale = service is not None and plan.catalog_revision != service.revision
    return render(
        request,
        "provisioning/plan_detail.html",
        {
            "plan": plan,
            "service": service,
            "groups": plan_groups(plan),
            "stale": stale,
            "can_act": service is not None and can_edit_team_content(request.user, service.team),
            "active": active_run(plan.scope),
        },
    )


@login_required
@require_POST
def apply(request, name: str):
    service = _service(name)
    require_team_member(request, service, "apply")
    plan = Plan.objects.filter(pk=request.POST.get("plan") or None, scope=service_key(name)).first()
    try:
        run = apply_service(service, request.user, plan=plan)
    except RunInProgress as exc:
        messages.warning(request, sentence(exc))
        return redirect("provisioning:run_detail", pk=exc.run.pk)
    except TemporaryError as exc:
        messages.error(request, f"Could not read the current state: {exc}. Nothing was changed; try again shortly.")
        return redirect("catalog:service_detail", name=name)
    except PermanentError as exc:
        messages.error(request, f"Could not apply {name}: {sentence(exc)}")
        return redirect("catalog:service_detail", name=name)
    if run.status == RunStatus.AWAITING_APPROVAL:
        messages.info(request, f"Run #{run.pk} waits for a platform SRE's approval before anything changes.")
    else:
        messages.success(request, f"Run #{run.pk} is queued; its steps appear below as a worker carries them out.")
    return redirect("provisioning:run_detail", pk=run.pk)


@login_required
@require_POST
def drift_check(request, name: str):
    service = _service(name)
    require_team_member(request, service, "check")
    try:
        run = drift_check_service(service, request.user)
    except RunInProgress as exc:
        messages.warning(request, sentence(exc))
        return redirect("provisioning:run_detail", pk=exc.run.pk)
    messages.success(request, f"Drift check #{run.pk} is queued.")
    return redirect("provisioning:run_detail", pk=run.pk)


# --- runs ------------------------------------------------------------------------------------------------


def _run_context(request, pk: int) -> dict:
    run = get_object_or_404(run_queryset().prefetch_related("log_entries"), pk=pk)
    steps = list(run.steps.all())
    done = sum(1 for s in steps if s.status in ("succeeded", "failed", "skipped"))
    return {
        "run": run,
        "steps": steps,
        "done": done,
        "log": list(run.log_entries.all()),
        "service_name": service_of(run.scope) or run.scope,
        "can_cancel": run.is_active and can_act_on_run(request.user, run),
    }


@login_required
def run_detail(request, pk: int):
    return render(request, "provisioning/run_detail.html", _run_context(request, pk))


@login_required
def run_progress(request, pk: int):
    """The live part of the run page; htmx asks for it every second until the run finishes."""
    return render(request, "provisioning/includes/run_progress.html", _run_context(request, pk))


@login_required
@require_POST
def run_cancel(request, pk: int):
    run = get_object_or_404(ProvisioningRun.objects.select_related("service__team"), pk=pk)
    if not can_act_on_run(request.user, run):
        raise PermissionDenied("Only members of the service's team and platform SREs may cancel its runs.")
    try:
        cancel_run(run, request.user, reason=f"cancelled by {request.user.username}")
    except PermanentError as exc:
        messages.error(request, sentence(exc))
    else:
        messages.success(request, f"Run #{run.pk} is cancelled; a step already under way finishes first.")
    return redirect("provisioning:run_detail", pk=pk)


@login_required
def run_list(request, name: str):
    service = Service.objects.select_related("team").filter(name=name).first()
    runs = ProvisioningRun.objects.filter(scope=service_key(name)).select_related("requested_by", "approved_by")
    if service is None and not runs.exists():
        raise Http404(f"No service or runs named {name}.")
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    return render(request, "provisioning/run_list.html", {"service": service, "name": name, "page": page})


# --- what the portal renders ----------------------------------------------------------------------------------


@login_required
def manifests(request, name: str):
    service = _service(name)
    # AWS specs carry no kind or name of their own: each is shown under its heading.
    return render(
        request,
        "provisioning/manifests.html",
        {"service": service, "kubernetes": rendered_yaml(name), "aws": aws_specs(name)},
    )


@login_required
def graph(request, name: str):
    service = _service(name)
    context = {"service": service}
    try:
        picture, context["svg"] = resource_graph(name)
    except GraphError as exc:
        context["graph_error"] = str(exc)
    else:
        names = {node.id: node.label.replace("\n", " ") for node in picture.nodes}
        context["edges"] = [(names[e.source], names[e.target], e.label) for e in picture.edges]
    return render(request, "provisioning/graph.html", context)


@login_required
def graph_svg(request, name: str):
    _service(name)
    try:
        _, svg = resource_graph(name)
    except GraphError as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse('<?xml version="1.0" encoding="UTF-8"?>\n' + svg, content_type="image/svg+xml")
    # Opened on its own, the picture may not run, load or style anything (its colours are SVG attributes).
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    response["Content-Disposition"] = f'inline; filename="{name}-resources.svg"'
    return response


# --- approvals ---------------------------------------------------------------------------------------------------


@login_required
def approvals(request):
    require_approver(request)
    return render(request, "provisioning/approvals.html", {"runs": list(pending_approvals())})


@login_required
@require_POST
def approve(request, pk: int):
    require_approver(request)
    run = get_object_or_404(ProvisioningRun, pk=pk)
    try:
        approve_run(run, request.user)
    except PermanentError as exc:
        messages.error(request, f"Run #{pk} was not approved: {sentence(exc)}")
    else:
        messages.success(request, f"Run #{pk} is approved and queued; the worker plans again before applying.")
    return redirect("provisioning:approvals")


@login_required
@require_POST
def reject(request, pk: int):
    require_approver(request)
    run = get_object_or_404(ProvisioningRun, pk=pk)
    reason = (request.POST.get("reason") or "").strip()
    if not reason:
        messages.error(request, f"Run #{pk} was not rejected: write a reason; the requester reads it.")
        return redirect("provisioning:approvals")
    try:
        reject_run(run, request.user, reason)
    except PermanentError as exc:
        messages.error(request, f"Run #{pk} was not rejected: {sentence(exc)}")
    else:
        messages.success(request, f"Run #{pk} is rejected; the requester sees your reason on the run's page.")
    return redirect("provisioning:approvals")
