"""Stored service specs (``Service.spec_json``) follow every change of the rows they are built from.

The catalog's write path (``services``) stores a fresh spec with each edit; these handlers cover every other way
a row can change (the shell, a data migration, a deleted caller), marking the spec out of date so the next read
builds it from the tables again.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from .documents import forget_specs
from .models import Exposure, Hostname, Route, Service, Telemetry, Traffic


@receiver([post_save, post_delete], sender=Exposure)
@receiver([post_save, post_delete], sender=Traffic)
@receiver([post_save, post_delete], sender=Telemetry)
def _one_to_one_changed(sender, instance, **kwargs) -> None:
    forget_specs([instance.service_id])


@receiver([post_save, post_delete], sender=Hostname)
@receiver([post_save, post_delete], sender=Route)
def _part_changed(sender, instance, **kwargs) -> None:
    forget_specs([instance.exposure_id])  # an exposure's key is its service's


@receiver(m2m_changed, sender=Traffic.allowed_callers.through)
def _callers_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if not reverse:
        if action.startswith("post_"):
            forget_specs([instance.service_id])
    elif action == "pre_clear":  # seen from the callee: every service that allows it
        forget_specs(list(Traffic.objects.filter(allowed_callers=instance).values_list("service_id", flat=True)))
    elif action in ("post_add", "post_remove"):
        forget_specs(list(Traffic.objects.filter(pk__in=pk_set or ()).values_list("service_id", flat=True)))


@receiver(pre_delete, sender=Service)
def _caller_going(sender, instance, **kwargs) -> None:
    """Services that allow this one to call them name it in their documents."""
    forget_specs(list(Traffic.objects.filter(allowed_callers=instance).values_list("service_id", flat=True)))
