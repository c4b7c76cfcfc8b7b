"""Bootstrap: the platform scope (its Kubernetes objects and shared AWS pieces) planned and applied in this
process, approved by the operator running it, until converged."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..choices import RunAction, RunStatus
from ..engine import Engine, platform_scope
from ..errors import ProvisioningError, RunInProgress
from ..journal import log
from ..models import ProvisioningRun
from ..queries import active_run
from ..resources import AWS, KUBERNETES
from ..scopes import PLATFORM_KEY
from ..snapshot import platform_snapshot
from ..targets import AwsBackend, kubernetes_backend
from .lifecycle import claim, finish
from .perform import perform

# An apply of the platform can change what the platform renders: the TargetGroupBinding names its target group
# by the ARN the first apply recorded. One more pass applies that; then the platform is converged.
BOOTSTRAP_PASSES = 2


def _bootstrap_engine(sandbox: bool | None = None, wait_seconds: float | None = None) -> Engine:
    """An engine for a bootstrap: ``wait_seconds`` lets a one-off command wait longer for ACM than a run's step;
    ``sandbox`` overrides whether zones may be created (by default: when AWS is the local sandbox)."""
    platform = platform_snapshot()
    backends = {
        KUBERNETES: kubernetes_backend(platform.kubernetes_target),
        AWS: AwsBackend(platform, sandbox=sandbox, wait_seconds=wait_seconds),
    }
    return Engine(platform, backends)


def bootstrap_platform(sandbox: bool | None = None, wait_seconds: float | None = None) -> list[ProvisioningRun]:
    """Plan and apply the platform scope in this process (its Kubernetes objects and its shared AWS pieces),
    approved by the operator running it, until it is converged (at most ``BOOTSTRAP_PASSES`` runs).

    A failed run is recorded as failed and its error raised: the caller decides whether to try again.
    """
    runs: list[ProvisioningRun] = []
    for _ in range(BOOTSTRAP_PASSES):
        engine = _bootstrap_engine(sandbox, wait_seconds)
        run = _apply_platform_now(engine)
        runs.append(run)
        after = platform_scope(platform_snapshot())
        if run.plan is None or run.plan.fingerprint == after.fingerprint:
            break
    return runs


def _apply_platform_now(engine: Engine) -> ProvisioningRun:
    with transaction.atomic():
        try:
            run = ProvisioningRun.objects.create(scope=PLATFORM_KEY, action=RunAction.APPLY, approved_at=timezone.now())
        except IntegrityError:
            raise RunInProgress(active_run(PLATFORM_KEY)) from None
    log(run, "provisioning.run.requested", "bootstrap: approved by the operator running it")
    claimed = claim(run.pk, "bootstrap")
    try:
        perform(claimed, engine)
    except ProvisioningError as exc:
        finish(claimed, RunStatus.FAILED, str(exc))
        raise
    return ProvisioningRun.objects.select_related("plan").get(pk=run.pk)
