"""What the catalog does when something happens elsewhere.

- Audit records for rows changed outside the service document's write path: teams, memberships, platform
  settings. The service document is audited by its serializer (it spans several tables).
- Provisioning's reports on runs (``provisioning.signals``): a requested destroy marks the service as being
  deleted; a destroy that succeeded deletes the row (its runs and plans stay, by scope); one that failed keeps
  the row, marked, so nothing is orphaned silently.
"""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.forms.models import model_to_dict

from portal.audit.context import current_request
from portal.audit.log import record
from provisioning.choices import RunAction, RunStatus
from provisioning.scopes import service_of
from provisioning.signals import run_finished, run_requested

from .choices import ServiceState
from .models import Membership, PlatformSettings, Service, Team

_BEFORE = "_audit_before"


def _document(instance) -> dict:
    data = model_to_dict(instance)
    data.pop("members", None)
    return data


def _remember(sender, instance, **kwargs) -> None:
    if instance.pk:
        previous = sender.objects.filter(pk=instance.pk).first()
        setattr(instance, _BEFORE, _document(previous) if previous else None)


def _saved(kind: str, key, team: str = ""):
    def handler(sender, instance, created, **kwargs) -> None:
        before = getattr(instance, _BEFORE, None)
        after = _document(instance)
        if not created and before == after:
            return
        record(
            f"{kind}.{'create' if created else 'update'}",
            kind,
            key(instance),
            request=current_request(),
            team=team(instance) if callable(team) else team,
            before=None if created else before,
            after=after,
        )

    return handler


for model, kind, key, team in (
    (Team, "team", lambda t: t.slug, lambda t: t.slug),
    (Membership, "membership", lambda m: f"{m.team.slug}/{m.user.username}", lambda m: m.team.slug),
    (PlatformSettings, "platform_settings", lambda p: "platform", ""),
):
    pre_save.connect(_remember, sender=model, weak=False, dispatch_uid=f"audit-pre-{kind}")
    post_save.connect(_saved(kind, key, team), sender=model, weak=False, dispatch_uid=f"audit-post-{kind}")


@receiver(post_delete, sender=Membership, dispatch_uid="audit-delete-membership")
def _membership_removed(sender, instance, **kwargs) -> None:
    record(
        "membership.delete",
        "membership",
        f"{instance.team.slug}/{instance.user.username}",
        request=current_request(),
        team=instance.team.slug,
        before=_document(instance),
    )


# --- provisioning's reports ------------------------------------------------------------------------------


@receiver(run_requested, dispatch_uid="catalog-destroy-requested")
def _destroy_requested(sender, run, **kwargs) -> None:
    if run.action == RunAction.DESTROY and run.service_id is not None:
        Service.objects.filter(pk=run.service_id).update(state=ServiceState.DELETING)


@receiver(run_finished, dispatch_uid="catalog-destroy-finished")
def _destroy_finished(sender, run, status: str, **kwargs) -> None:
    if run.action != RunAction.DESTROY or run.service_id is None:
        return
    if status == RunStatus.FAILED:
        Service.objects.filter(pk=run.service_id).update(state=ServiceState.DELETE_FAILED)
        return
    deleted, _ = Service.objects.filter(pk=run.service_id).delete()
    if deleted:
        record(
            "service.delete",
            "service",
            service_of(run.scope),
            actor=run.requested_by,
            detail=f"destroyed by run #{run.pk}",
            source="worker",
        )
