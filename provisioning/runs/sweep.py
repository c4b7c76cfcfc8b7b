"""The drift sweep: a drift check of every active service, sent to workers in batches; and those batches: many
services' drift checks with the reads made once for all of them.

Checked one by one, every service costs a list per (kind, namespace) in the cluster and a handful of AWS calls
(its tagged resources, its log group, its team's topic three times over, ...). A batch reads ahead instead: one
list per kind across namespaces for all its services (a set-based label selector), one GetResources per 20
services, one log-group listing per team, the alarms in one call, a team's topic once; each run then observes
from those reads. Read-only checks only: what the batch read is as old as the batch (seconds), never used to
apply anything.
"""

import logging
from collections import Counter

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from ..choices import RunAction, RunStatus
from ..engine import Engine, Scope, record_to_resource, service_scope
from ..errors import RunInProgress
from ..models import ManagedResource, ProvisioningRun
from ..scopes import PLATFORM_KEY, is_service_key, service_key, service_of
from ..snapshot import active_services, load_services
from .dispatch import backoff, enqueue, enqueue_drift_batch
from .lifecycle import claim, request_run
from .perform import attempt

logger = logging.getLogger("provisioning")


def prefetch(engine: Engine, scopes: list[Scope]) -> None:
    """Read these scopes' inventory at once, and let each backend read ahead for them (each gets its kinds, labels
    and recorded resources). A run holds its scope's lock, so its inventory rows do not change under it."""
    keys = [key for scope in scopes for key in (scope.key, *scope.extra_scopes)]
    records: dict[str, list] = {key: [] for key in keys}
    for row in ManagedResource.objects.filter(scope__in=keys):
        records[row.scope].append(record_to_resource(row))
    engine.recorded = records
    for provider, backend in engine.backends.items():
        read_ahead = getattr(backend, "prefetch", None)
        if read_ahead is None:
            continue
        read_ahead(
            [
                (
                    scope.kinds,
                    scope.labels,
                    [r for key in (scope.key, *scope.extra_scopes) for r in records[key] if r.provider == provider],
                )
                for scope in scopes
                if provider in scope.providers
            ]
        )


def check_batch(run_ids: list[int], task_id: str) -> dict[str, int]:
    """Carry out these queued drift checks with shared reads; returns how many ended in each status."""
    engine = Engine()
    queued = ProvisioningRun.objects.filter(pk__in=run_ids, action=RunAction.DRIFT_CHECK, status=RunStatus.QUEUED)
    # The batch's services read at once; any other run (or a service gone since) builds its own scope.
    names = {r.pk: service_of(r.scope) for r in queued if is_service_key(r.scope)}
    loaded = load_services(list(names.values()))
    scopes: dict[int, Scope] = {}
    for run_id, name in names.items():
        if name not in loaded:
            continue
        try:
            scopes[run_id] = service_scope(name, engine.platform, loaded=loaded[name])
        except Exception as exc:  # the run meets it again when it builds its scope, and fails saying why
            logger.info("provisioning.drift.scope_failed", extra={"run": run_id, "error": str(exc)})
    try:
        prefetch(engine, list(scopes.values()))
    except Exception as exc:
        # Reading ahead is an optimisation: without it every run reads for itself (and meets the error on its
        # own, temporary or permanent, if it lasts).
        logger.warning("provisioning.drift.prefetch_failed", extra={"runs": len(run_ids), "error": str(exc)})
        engine = Engine(engine.platform)
    outcomes: Counter[str] = Counter()
    for run_id in run_ids:
        # A check's bookkeeping (claim, plan, findings, finish) in one commit: it takes milliseconds, and a
        # worker that dies in the middle leaves the run queued for the reaper, as if never claimed.
        try:
            with transaction.atomic():
                run = claim(run_id, task_id)
                if run is None:
                    outcomes["not claimed"] += 1
                    continue
                status, retry = attempt(run, engine, scopes.get(run_id))
        except DatabaseError as exc:
            # The database failed under this check and its claim was rolled back: the rest of the batch stays
            # queued for the reaper, which sends each run again.
            logger.warning("provisioning.drift.batch_stopped", extra={"run": run_id, "error": str(exc)})
            connection.close()
            break
        if retry is not None:
            enqueue(run.pk, countdown=backoff(run.attempts))
        outcomes[status] += 1
    return dict(outcomes)


def request_drift_checks(batch_size: int | None = None) -> int:
    """Queue a drift check for every active service that has no run in progress, sent to workers in batches
    (by team, so a batch shares its team's reads) that read ahead once for all their services; and one of the
    platform scope once it has been applied."""
    batch_size = batch_size or settings.PORTAL_DRIFT_BATCH_SIZE
    services = active_services()
    count = 0
    if ManagedResource.objects.filter(scope=PLATFORM_KEY).exists():
        try:
            request_run(PLATFORM_KEY, RunAction.DRIFT_CHECK)
            count += 1
        except RunInProgress:
            pass
    for start in range(0, len(services), batch_size):
        batch = []
        with transaction.atomic():  # a batch's runs in one commit
            for pk, name in services[start : start + batch_size]:
                try:
                    with transaction.atomic():  # a savepoint: one service's failure leaves the batch usable
                        run = request_run(service_key(name), RunAction.DRIFT_CHECK, service_id=pk, send=False)
                except RunInProgress:
                    continue
                except Exception:
                    logger.exception("provisioning.drift.request_failed", extra={"service": name})
                    continue
                batch.append(run.pk)
        if batch:
            enqueue_drift_batch(batch)
            count += len(batch)
    return count
