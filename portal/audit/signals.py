"""Audit records of single rows, whoever saves them (the catalog's services, the admin, the IdP sync, commands):
teams, memberships, platform settings, API tokens. A service's document spans several tables: the catalog's
write path (``portal.catalog.services``) records it whole."""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.forms.models import model_to_dict
from rest_framework.authtoken.models import Token

from portal.catalog.models import Membership, PlatformSettings, Team

from .context import current_request
from .log import record

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


@receiver(post_save, sender=Token, dispatch_uid="audit-token")
def _token_created(sender, instance, created, **kwargs) -> None:
    if created:
        record(
            "token.create",
            "token",
            instance.user.username,
            request=current_request(),
            detail="a new API token replaced any previous one",
        )
