"""`bootstrap` on a fresh sandbox plans and applies the platform layer (its AWS pieces and Kubernetes objects,
converging in two runs: the binding to a target group needs the ARN the first one recorded); a second
`bootstrap` makes no writes (neither in AWS nor to the Kubernetes target)."""

import io

from django.core.management import call_command

from provisioning.choices import RunStatus
from provisioning.gitrepo import Repo
from provisioning.models import ManagedResource, ProvisioningRun
from provisioning.scopes import PLATFORM_KEY


def test_a_second_bootstrap_writes_nothing_to_the_gitops_target_or_aws(aws, platform, settings, tmp_path, aws_calls):
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
    out = io.StringIO()
    call_command("prepare_sandbox", stdout=out)
    call_command("bootstrap", certificate_wait=10, stdout=out)
    first, binding = ProvisioningRun.objects.filter(scope=PLATFORM_KEY).order_by("pk")
    assert first.status == binding.status == RunStatus.SUCCEEDED, first.error or binding.error
    # The second apply binds the target groups and gives the releases that call AWS their IRSA roles: both wait
    # for what the first one's AWS pieces reported (the target groups' ARNs, the account).
    assert set(binding.steps.values_list("kind", flat=True)) == {"TargetGroupBinding", "Application"}
    assert set(binding.steps.filter(kind="Application").values_list("action", flat=True)) == {"update"}
    steps = first.steps.count() + binding.steps.exclude(kind="Application").count()
    assert steps == ManagedResource.objects.filter(scope=PLATFORM_KEY).count() > 20
    repo = Repo(settings.PORTAL_GITOPS_DIR)
    commits = repo.git("log", "--format=%s").splitlines()
    assert commits[0].startswith(f"portal run #{binding.pk}: apply platform")

    aws_calls.restart()
    call_command("bootstrap", certificate_wait=10, stdout=out)
    second = ProvisioningRun.objects.filter(scope=PLATFORM_KEY).latest("pk")
    assert second.pk != binding.pk and second.status == RunStatus.SUCCEEDED
    assert second.steps.count() == 0
    assert second.plan.summary["create"] == second.plan.summary["update"] == second.plan.summary["delete"] == 0
    assert aws_calls.writes == []
    assert repo.git("log", "--format=%s").splitlines() == commits


def test_a_second_bootstrap_makes_no_write_requests_to_a_cluster(aws, platform, settings, k8s_kubeconfig, k8s_double):
    settings.PORTAL_KUBECONFIG = k8s_kubeconfig
    platform.kubernetes_target = "kubernetes"
    platform.save()
    call_command("prepare_sandbox", stdout=io.StringIO())
    call_command("bootstrap", certificate_wait=10, stdout=io.StringIO())
    assert set(ProvisioningRun.objects.filter(scope=PLATFORM_KEY).values_list("status", flat=True)) == {
        RunStatus.SUCCEEDED
    }
    assert k8s_double.get_object("Gateway", "external-gateway", "istio-ingress") is not None
    k8s_double.clear_requests()
    call_command("bootstrap", certificate_wait=10, stdout=io.StringIO())
    assert k8s_double.write_count == 0
