"""Pages of the catalog: teams, services, and the service form in steps.

Reads are open to everyone signed in; writes ask ``permissions.py``. Every write validates through the API's
serializers and is made by the catalog's write path (``services``), so the pages and the API enforce the same
rules with the same messages and leave the same audit records.
"""

import yaml
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_GET, require_POST

from portal.core.text import sentence
from provisioning.errors import PermanentError, RunInProgress
from provisioning.models import ManagedResource, ProvisioningRun
from provisioning.operations import apply_without_removed_routes, destroy_service
from provisioning.queries import active_run, grafana_dashboard_url, service_analysis, with_last_run
from provisioning.scopes import service_key
from provisioning.spec import default_document

from . import services
from .api.serializers import MembershipSerializer, TeamSerializer
from .choices import MembershipRole
from .documents import current_document, service_queryset
from .filtersets import ServiceFilterSet, TeamFilterSet
from .forms import STEPS, MemberForm, ServiceWizard, TeamForm
from .forms.service import STEP_SLUGS, Errors, flat_from_document, flatten_errors, normalize
from .models import Service, Team
from .permissions import can_edit_team_content, can_manage_team, is_sre, require_team_member

PAGE_SIZE = 50


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- teams -------------------------------------------------------------------------------------------------


@login_required
def team_list(request):
    teams = Team.objects.annotate(
        service_count=Count("services", distinct=True), member_count=Count("memberships", distinct=True)
    ).order_by("slug")
    filterset = TeamFilterSet(request.GET, queryset=teams)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "catalog/team_list.html", {"filter": filterset, "page": page})


def _team_page(request, team: Team, member_form: MemberForm | None = None, status: int = 200) -> HttpResponse:
    memberships = team.memberships.select_related("user").order_by("role", "user__username")
    services = with_last_run(Service.objects.filter(team=team).select_related("exposure"))
    can_manage = can_manage_team(request.user, team)
    return render(
        request,
        "catalog/team_detail.html",
        {
            "team": team,
            "memberships": memberships,
            "services": services,
            "can_manage": can_manage,
            "member_form": (member_form or MemberForm()) if can_manage else None,
            "roles": MembershipRole.choices,
        },
        status=status,
    )


@login_required
def team_detail(request, slug: str):
    return _team_page(request, get_object_or_404(Team, slug=slug))


def _managed_team(request, slug: str) -> Team:
    """The team, locked for a membership change, if the user may change its membership."""
    team = get_object_or_404(Team.objects.select_for_update(), slug=slug)
    if not can_manage_team(request.user, team):
        raise PermissionDenied(f"Only the owners of team {team.slug} and platform SREs may change its membership.")
    return team


@login_required
@require_POST
def member_add(request, slug: str):
    form = MemberForm(request.POST)
    form.is_valid()  # only to bind the values; the serializer below validates
    with transaction.atomic():
        team = _managed_team(request, slug)
        data = {"username": (request.POST.get("username") or "").strip(), "role": request.POST.get("role") or ""}
        serializer = MembershipSerializer(data=data, context={"team": team})
        if not serializer.is_valid():
            for field, errors in flatten_errors(serializer.errors).items():
                form.add_error(field if field in form.fields else None, errors)
            return _team_page(request, team, form, status=400)
        data = serializer.validated_data
        membership = services.add_member(team, data["user"]["username"], data["role"])
    messages.success(request, f"{membership.user.username} is now {membership.role_phrase} of team {team.slug}.")
    return redirect("catalog:team_detail", slug=slug)


@login_required
@require_POST
def member_change(request, slug: str, username: str):
    with transaction.atomic():
        team = _managed_team(request, slug)
        membership = get_object_or_404(team.memberships.select_related("user"), user__username=username)
        serializer = MembershipSerializer(membership, data={"role": request.POST.get("role") or ""}, partial=True)
        if not serializer.is_valid():
            messages.error(request, " ".join(m for msgs in flatten_errors(serializer.errors).values() for m in msgs))
            return redirect("catalog:team_detail", slug=slug)
        try:
            membership = services.change_role(membership, serializer.validated_data["role"])
        except services.ChangeRefused as exc:
            messages.error(request, str(exc))
            return redirect("catalog:team_detail", slug=slug)
    messages.success(request, f"{username} is now {membership.role_phrase} of team {team.slug}.")
    return redirect("catalog:team_detail", slug=slug)


@login_required
@require_POST
def member_remove(request, slug: str, username: str):
    with transaction.atomic():
        team = _managed_team(request, slug)
        membership = get_object_or_404(team.memberships.select_related("user", "team"), user__username=username)
        try:
            services.remove_member(membership)
        except services.ChangeRefused as exc:
            messages.error(request, str(exc))
            return redirect("catalog:team_detail", slug=slug)
    messages.success(request, f"{username} is no longer in team {team.slug}.")
    return redirect("catalog:team_detail", slug=slug)


@login_required
def team_edit(request, slug: str):
    team = get_object_or_404(Team, slug=slug)
    if not can_manage_team(request.user, team):
        raise PermissionDenied(f"Only the owners of team {team.slug} and platform SREs may change the team.")
    if request.method != "POST":
        form = TeamForm(
            initial={
                "name": team.name,
                "slack_channel": team.slack_channel,
                "sso_group": team.sso_group,
                "revision": team.revision,
            }
        )
        return render(request, "catalog/team_form.html", {"team": team, "form": form})

    form = TeamForm(request.POST)
    form.is_valid()  # only to bind the values; the serializer below validates
    with transaction.atomic():
        current = Team.objects.select_for_update().get(pk=team.pk)
        if str(current.revision) != (request.POST.get("revision") or ""):
            data = request.POST.copy()
            data["revision"] = str(current.revision)
            form = TeamForm(data)
            form.is_valid()
            form.add_error(
                None,
                f"Someone else changed team {team.slug} while you were editing; nothing was saved. Your values are "
                "still in the form: compare them with the team's page, then save again to keep yours.",
            )
            return render(request, "catalog/team_form.html", {"team": team, "form": form}, status=409)
        serializer = TeamSerializer(current, data=form.document(), partial=True)
        if not serializer.is_valid():
            for path, errors in flatten_errors(serializer.errors).items():
                form.add_error(path if path in form.fields else None, errors)
            return render(request, "catalog/team_form.html", {"team": team, "form": form})
        services.update_team(current, serializer.validated_data)
    messages.success(request, f"Team {team.slug} is saved.")
    return redirect("catalog:team_detail", slug=slug)


# --- services: list and detail --------------------------------------------------------------------------------


@login_required
def service_list(request):
    queryset = with_last_run(service_queryset())
    filterset = ServiceFilterSet(request.GET, queryset=queryset)
    form = filterset.form
    form.fields["team"].widget.attrs["list"] = "team-slugs"
    for name in ("lifecycle", "exposure"):
        form.fields[name].choices = [("", "Any"), *[c for c in form.fields[name].choices if c[0] != ""]]
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/service_list.html",
        {"filter": filterset, "page": page, "team_slugs": Team.objects.values_list("slug", flat=True)},
    )


@login_required
def service_detail(request, name: str):
    service = get_object_or_404(with_last_run(service_queryset()), name=name)
    runs = ProvisioningRun.objects.filter(scope=service_key(name)).select_related("requested_by")[:5]
    return render(
        request,
        "catalog/service_detail.html",
        {
            "service": service,
            "document": current_document(service),
            "runs": runs,
            "active": active_run(service_key(name)),
            "resources": ManagedResource.objects.filter(scope=service_key(name)),
            "findings": service_analysis(name),
            "can_edit": can_edit_team_content(request.user, service.team),
        },
    )


@login_required
@require_GET
def service_runbook(request, name: str):
    """Where the service's alerts link as their runbook: its runbook URL, or, without one yet, its page."""
    service = get_object_or_404(Service.objects.only("name", "runbook_url"), name=name)
    if service.runbook_url:
        return redirect(service.runbook_url)
    messages.warning(request, f"{service.name} has no runbook URL yet; its team sets one under Edit → Basics.")
    return redirect("catalog:service_detail", name=name)


@login_required
@require_GET
def service_dashboard(request, name: str):
    """Where the service's alerts link as their dashboard: its Grafana dashboard (the uid the dashboard ConfigMap
    gives it, on the platform's Grafana), or, with the dashboard turned off, its page."""
    service = get_object_or_404(Service.objects.select_related("telemetry").only("name", "telemetry"), name=name)
    if service.telemetry.dashboard:
        return redirect(grafana_dashboard_url(service.name))
    messages.warning(request, f"{service.name} has no dashboard; its team turns it on under Edit → Telemetry.")
    return redirect("catalog:service_detail", name=name)


@login_required
def service_delete(request, name: str):
    """Confirm, then delete. Other services' routes to this one are listed; deleting removes them from those
    services (audited edits their teams read), so no team can keep another's service alive by routing to it."""
    service = get_object_or_404(Service.objects.select_related("team"), name=name)
    require_team_member(request, service, "delete")
    routes = services.routes_to(service)
    if request.method == "POST":
        if routes and request.POST.get("confirm") != "routes":
            messages.error(request, f"{service.name} was not deleted: confirm the removal of the routes to it.")
            return redirect("catalog:service_delete", name=name)
        try:
            with transaction.atomic():
                changed = services.remove_routes_to(service, actor=request.user, request=request) if routes else []
                run = destroy_service(service, request.user)
        except RunInProgress as exc:
            messages.warning(request, sentence(exc))
            return redirect("provisioning:run_detail", pk=exc.run.pk)
        except PermanentError as exc:
            messages.error(request, f"{service.name} was not deleted: {sentence(exc)}")
            return redirect("catalog:service_detail", name=name)
        for other in changed:
            follow_up = apply_without_removed_routes(other, request.user)
            if follow_up is not None:
                messages.info(request, f"Run #{follow_up.pk} applies {other.name} without its routes to {name}.")
            else:
                messages.info(
                    request, f"{other.name}'s routes to {name} are removed; its team's next apply applies it."
                )
        messages.success(
            request,
            f"Run #{run.pk} deletes everything {name} owns, then the service itself (kept, marked, if it fails).",
        )
        return redirect("provisioning:run_detail", pk=run.pk)
    resources = ManagedResource.objects.filter(scope=service_key(name))
    return render(
        request,
        "catalog/service_confirm_delete.html",
        {"service": service, "resources": resources, "routes": routes},
    )


# --- services: the form in steps ----------------------------------------------------------------------------


def _teams_for(user) -> list[tuple[str, str]]:
    teams = Team.objects.all() if is_sre(user) else Team.objects.filter(memberships__user=user)
    return [(t.slug, f"{t.name} ({t.slug})") for t in teams.order_by("slug")]


@login_required
def service_create(request):
    return _wizard(request, None)


@login_required
def service_edit(request, name: str):
    service = get_object_or_404(service_queryset(), name=name)
    require_team_member(request, service, "edit")
    return _wizard(request, service)


def _wizard(request, instance: Service | None):
    teams = _teams_for(request.user)
    if instance is not None and instance.team.slug not in dict(teams):
        teams.append((instance.team.slug, f"{instance.team.name} ({instance.team.slug})"))
    if not teams:
        return render(request, "catalog/service_form.html", {"no_team": True, "instance": instance})

    if request.method != "POST":
        if instance is not None:
            flat = flat_from_document(current_document(instance))
            flat["revision"] = str(instance.revision)
        else:
            wanted = request.GET.get("team", "")
            flat = flat_from_document(default_document(wanted if wanted in dict(teams) else teams[0][0]))
        # A link may open the form at a step (the scorecards' fix links do).
        step = request.GET.get("step") if request.GET.get("step") in STEP_SLUGS else "basics"
        return _render_step(request, ServiceWizard(flat, instance=instance, teams=teams), step)

    action = request.POST.get("action") or "next"
    flat = normalize(request.POST, add_route=action == "add_route")
    wizard = ServiceWizard(flat, instance=instance, teams=teams)
    step = request.POST.get("step") if request.POST.get("step") in STEP_SLUGS else "basics"
    index = STEP_SLUGS.index(step)

    if request.GET.get("validate"):
        return _inline_errors(request, wizard, step)
    if action == "back":
        return _render_step(request, wizard, STEP_SLUGS[max(0, index - 1)])
    if action.startswith("goto:") and action[5:] in STEP_SLUGS:
        return _render_step(request, wizard, action[5:])
    if action == "add_route":
        return _render_step(request, wizard, "exposure")
    if action == "save":
        return _save(request, wizard, instance)
    errors = _with_team_check(wizard.step_errors(step), wizard, step)
    if errors:
        return _render_step(request, wizard, step, errors)
    return _render_step(request, wizard, STEP_SLUGS[min(len(STEP_SLUGS) - 1, index + 1)])


def _with_team_check(errors: Errors, wizard: ServiceWizard, step: str) -> Errors:
    """Choosing a team one is not in is a permission matter, not a validation rule: the view adds it."""
    team = wizard.flat.get("team", "")
    if step in ("basics", "review") and team and team not in dict(wizard.teams) and "team" not in errors.fields:
        errors.fields["team"] = [f"You are not a member of team {team}; choose one of your teams."]
    return errors


def _save(request, wizard: ServiceWizard, instance: Service | None):
    errors = _with_team_check(wizard.errors(), wizard, "review")
    if errors:
        return _render_step(request, wizard, "review", errors)
    if instance is None:
        try:
            service = services.create_service(wizard.serializer.validated_data, actor=request.user)
        except services.Taken as exc:
            return _render_step(request, wizard, "review", _taken(exc))
        messages.success(
            request, f"Service {service.name} is registered. Nothing is provisioned yet: plan it to see what changes."
        )
        return _saved(request, service)

    with transaction.atomic():
        current = Service.objects.select_for_update().select_related("team").get(pk=instance.pk)
        if str(current.revision) != wizard.flat.get("revision"):
            return _stale(request, wizard, current)
        wizard = ServiceWizard(wizard.flat, instance=current, teams=wizard.teams)  # validated against the locked row
        if not wizard.serializer.is_valid():
            return _render_step(request, wizard, "review", wizard.errors())
        try:
            service = services.update_service(current, wizard.serializer.validated_data, actor=request.user)
        except services.Taken as exc:
            return _render_step(request, wizard, "review", _taken(exc))
    messages.success(request, f"Service {service.name} is saved (revision {service.revision}). Plan it to apply.")
    return _saved(request, service)


def _taken(exc: services.Taken) -> Errors:
    """A name another request took while this one was being saved, at the top of the review step."""
    found = flatten_errors(exc.errors).items()
    return Errors({}, {"review": [f"{path}: {message}" for path, messages in found for message in messages]})


def _saved(request, service: Service) -> HttpResponse:
    url = reverse("catalog:service_detail", kwargs={"name": service.name})
    if _is_htmx(request):
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return redirect(url)


def _stale(request, wizard: ServiceWizard, current: Service) -> HttpResponse:
    """Someone saved the service after this form was opened: save nothing, keep everything typed, say so."""
    saved = _leaves(current_document(current))
    mine = _leaves(wizard.validated_document() if wizard.serializer.is_valid() else wizard.document())
    ignored = ("state", "revision", "created_at", "updated_at")
    differing = sorted(p for p in set(saved) | set(mine) if p not in ignored and saved.get(p) != mine.get(p))
    revision_seen = wizard.flat.get("revision")
    wizard.flat["revision"] = str(current.revision)
    stale = {"seen": revision_seen, "current": current.revision, "differing": differing}
    return _render_step(
        request, ServiceWizard(wizard.flat, instance=current, teams=wizard.teams), "review", stale=stale
    )


def _leaves(document, prefix: str = "") -> dict[str, str]:
    """A document as {"traffic.retries.attempts": "3", "exposure.hostnames": "a, b"} for comparing."""
    if isinstance(document, dict):
        return {k: v for key, value in document.items() for k, v in _leaves(value, f"{prefix}{key}.").items()}
    if isinstance(document, list) and any(isinstance(item, dict) for item in document):
        return {k: v for i, item in enumerate(document) for k, v in _leaves(item, f"{prefix}{i}.").items()}
    if isinstance(document, list):
        return {prefix.rstrip("."): ", ".join(map(str, document))}
    return {prefix.rstrip("."): "" if document is None else str(document)}


HX_VALIDATE = {"hx-trigger": "change", "hx-swap": "none", "hx-include": "closest form", "hx-sync": "closest form:abort"}


def _field_row(bound, errors: list[str], validate_url: str) -> dict:
    widget_type = bound.widget_type
    ids = [f"{bound.auto_id}-errors"] + ([f"{bound.auto_id}-help"] if bound.help_text else [])
    attrs = {"aria-describedby": " ".join(ids), "hx-post": validate_url, **HX_VALIDATE}
    if errors:
        attrs["aria-invalid"] = "true"
    return {
        "field": bound,
        "widget": bound.as_widget(attrs=attrs),
        "errors": errors,
        "kind": "radio" if widget_type == "radioselect" else "checkbox" if widget_type == "checkbox" else "input",
    }


STEP_LAYOUT = {
    "basics": (
        (None, ("name", "team", "description", "lifecycle", "tier", "port", "protocol", "mesh", "runbook_url")),
    ),
    "exposure": ((None, ("level", "hostnames", "paths", "builtin_sso")),),
    "telemetry": (
        ("Logs", ("access_logging", "log_retention_days")),
        ("Metrics", ("metrics_path", "metrics_port", "scrape_interval_seconds")),
        ("Traces", ("tracing_sampling_percent",)),
        ("Dashboard and SLO", ("dashboard", "slo_availability", "slo_latency_p99_ms")),
    ),
}


def _render_step(
    request, wizard: ServiceWizard, step: str, errors: Errors | None = None, stale: dict | None = None
) -> HttpResponse:
    errors = errors or Errors({}, {})
    validate_url = f"{request.path}?validate=1"
    form = wizard.forms.get(step)
    shown = set(form.fields) if form else set()
    rows = {name: _field_row(form[name], errors.fields.get(name, []), validate_url) for name in shown}
    layout = STEP_LAYOUT.get(step) or (form.fieldsets if form is not None and hasattr(form, "fieldsets") else ())
    fieldsets = [(legend, [rows[n] for n in names]) for legend, names in layout]
    routes = [[rows[b.name] for b in row] for row in form.route_fields()] if step == "exposure" else []
    summary = [
        (wizard.labels.get(name, name), form[name].auto_id if form and name in form.fields else "", message)
        for name, msgs in errors.fields.items()
        for message in msgs
    ] + [("", "", message) for msgs in errors.steps.values() for message in msgs]
    context = {
        "instance": wizard.instance,
        "steps": STEPS,
        "step": next(s for s in STEPS if s.slug == step),
        "number": STEP_SLUGS.index(step) + 1,
        "is_first": step == STEP_SLUGS[0],
        "is_review": step == "review",
        "next_step": STEPS[min(len(STEPS) - 1, STEP_SLUGS.index(step) + 1)],
        "hidden": [(k, v) for k, v in wizard.flat.items() if k not in shown and k != "step"],
        "fieldsets": fieldsets,
        "routes": routes,
        "summary": summary,
        "stale": stale,
    }
    if step == "review":
        context |= _review_context(wizard, errors)
    template = "catalog/includes/service_wizard.html" if _is_htmx(request) else "catalog/service_form.html"
    return render(request, template, context)


def _review_context(wizard: ServiceWizard, errors: Errors) -> dict:
    valid = wizard.serializer.is_valid() and not errors
    document = wizard.validated_document() if valid else wizard.document()
    by_step = []
    for step in STEPS[:-1]:
        form = wizard.forms[step.slug]
        messages_ = [
            (wizard.labels.get(name, name), message)
            for name, msgs in errors.fields.items()
            if name in form.fields
            for message in msgs
        ] + [("", m) for m in errors.steps.get(step.slug, [])]
        by_step.append({"step": step, "errors": messages_})
    return {
        "document_yaml": yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False),
        "review_steps": by_step,
    }


def _inline_errors(request, wizard: ServiceWizard, step: str) -> HttpResponse:
    """htmx, on a changed input: the current step's error slots, swapped in out of band.

    Fields still empty are left alone unless they are the one that changed, so a half-filled step does
    not shout about fields the person has not reached yet.
    """
    form = wizard.forms.get(step)
    if form is None:
        return HttpResponse("")
    errors = _with_team_check(wizard.step_errors(step), wizard, step)
    trigger = request.headers.get("HX-Trigger-Name", "")
    slots = []
    for name in form.fields:
        filled = (wizard.flat.get(name) or "").strip() not in ("", "false")
        shown = errors.fields.get(name, []) if (filled or name == trigger) else []
        slots.append((f"{form[name].auto_id}-errors", shown))
    html = format_html_join(
        "\n",
        '<div id="{}" class="field-errors" aria-live="polite" hx-swap-oob="true">{}</div>',
        ((slot_id, format_html_join("", "<p>{}</p>", ((m,) for m in msgs))) for slot_id, msgs in slots),
    )
    return HttpResponse(format_html("{}", html))
