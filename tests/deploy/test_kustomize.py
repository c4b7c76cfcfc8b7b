"""deploy/: the Kustomize overlays render with `kubectl kustomize`, every object validates strictly against the
Kubernetes schema and the vendored CRDs, and the shape is the one a platform team runs (probes, autoscaling,
disruption budgets, one beat, non-root and read-only pods, no secret value)."""

import io
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from kubernetes import config as k8s_config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

from provisioning.preflight import VENDORED_CRD_DIR, SchemaValidator
from provisioning.selfhost.exposure import PORTAL_SERVICE
from tests.k8sdouble.fixtures import real_cluster_kubeconfig

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ("production", "sandbox")
POD_KINDS = ("Deployment", "Job")


@cache
def rendered(overlay: str) -> tuple[dict, ...]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (its built-in kustomize) renders deploy/; install kubectl"
    result = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "deploy" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def find(overlay: str, kind: str, name: str) -> dict:
    matches = [d for d in rendered(overlay) if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind} {name}: {len(matches)} found"
    return matches[0]


def pod_specs(overlay: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in rendered(overlay) if d["kind"] in POD_KINDS}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_strictly(overlay):
    validator = SchemaValidator.from_crd_dir(VENDORED_CRD_DIR)
    documents = rendered(overlay)
    assert not validator.validate_all(documents)
    assert all(d["metadata"].get("namespace") == PORTAL_SERVICE for d in documents if _namespaced(d))


def _namespaced(document: dict) -> bool:
    return document["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_unprivileged_on_a_read_only_root(overlay):
    specs = pod_specs(overlay)
    assert set(specs) == {"web", "worker", "beat", "migrate"}
    for name, spec in specs.items():
        assert spec["serviceAccountName"] == PORTAL_SERVICE, name
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] and pod["runAsUser"] != 0 and pod["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"], name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert "memory" in container["resources"]["limits"] and container["resources"]["requests"], name
        # Writable space only where a process needs it, and gone with the pod.
        assert all(set(volume) == {"name", "emptyDir"} for volume in spec["volumes"]), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_is_probed_spread_scaled_and_kept_available(overlay):
    web = find(overlay, "Deployment", "web")
    spec = web["spec"]["template"]["spec"]
    container = spec["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
        # The kubelet's Host must be an allowed host, or Django answers 400.
        host = container[probe]["httpGet"]["httpHeaders"][0]["value"]
        assert host in find(overlay, "ConfigMap", "portal-config")["data"]["DJANGO_ALLOWED_HOSTS"].split(",")
    assert {c["topologyKey"] for c in spec["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    assert "replicas" not in web["spec"], "the HorizontalPodAutoscaler owns the count"
    assert find(overlay, "HorizontalPodAutoscaler", "web")["spec"]["scaleTargetRef"]["name"] == "web"
    budget = find(overlay, "PodDisruptionBudget", "web")["spec"]["selector"]["matchLabels"]
    assert budget.items() <= web["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_portal_service_selects_the_web_pods_only(overlay):
    selector = find(overlay, "Service", PORTAL_SERVICE)["spec"]["selector"]
    for name in ("web", "worker", "beat", "migrate"):
        kind = "Job" if name == "migrate" else "Deployment"
        labels = find(overlay, kind, name)["spec"]["template"]["metadata"]["labels"]
        assert (selector.items() <= labels.items()) == (name == "web"), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_beat_and_workers_that_hand_tasks_back_before_the_kill(overlay):
    beat = find(overlay, "Deployment", "beat")["spec"]
    assert beat["replicas"] == 1 and beat["strategy"] == {"type": "Recreate"}
    worker = find(overlay, "Deployment", "worker")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in worker["containers"][0]["env"]}
    assert env["REMAP_SIGTERM"] == "SIGQUIT"
    soft_shutdown = float(env["PORTAL_WORKER_SOFT_SHUTDOWN_SECONDS"])
    assert soft_shutdown + 15 <= worker["terminationGracePeriodSeconds"] < 900, "under the visibility timeout"
    assert find(overlay, "HorizontalPodAutoscaler", "worker")["spec"]["scaleTargetRef"]["name"] == "worker"
    migrate = find(overlay, "Job", "migrate")["spec"]["template"]
    assert migrate["spec"]["containers"][0]["command"][-2:] == ["migrate", "--noinput"]
    assert migrate["metadata"]["labels"]["sidecar.istio.io/inject"] == "false", "a sidecar would keep the Job alive"


def test_production_takes_its_secrets_from_an_external_secret_and_its_aws_role_from_irsa():
    documents = rendered("production")
    assert not [d for d in documents if d["kind"] == "Secret"], "no secret value in the repository"
    synced = find("production", "ExternalSecret", "portal-secrets")["spec"]
    assert {d["secretKey"] for d in synced["data"]} == {
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "PORTAL_ENCRYPTION_KEYS",
        "PORTAL_OIDC_CLIENT_SECRET",
    }
    account = find("production", "ServiceAccount", PORTAL_SERVICE)
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    for name, spec in pod_specs("production").items():
        refs = [source for c in spec["containers"] for source in c["envFrom"]]
        assert {"secretRef": {"name": synced["target"]["name"]}} in refs, name


def test_every_setting_in_the_config_map_is_a_documented_one():
    documented = set(re.findall(r"^\| `([A-Z_]+)`", (ROOT / "README.md").read_text(), re.MULTILINE))
    documented |= {"AWS_REGION", "AWS_DEFAULT_REGION"}
    for overlay in OVERLAYS:
        keys = set(find(overlay, "ConfigMap", "portal-config")["data"])
        assert keys <= documented, keys - documented


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_committed_exposure_is_what_the_portal_renders_for_itself(overlay, db):
    path = ROOT / "deploy" / "overlays" / overlay / "portal-exposure.yaml"
    out = io.StringIO()
    call_command("render_self", stdout=out)
    assert path.read_text() == out.getvalue(), f"run: python manage.py render_self -o {path.relative_to(ROOT)}"
    kinds = {d["kind"] for d in yaml.safe_load_all(out.getvalue())}
    assert {"VirtualService", "DestinationRule", "PeerAuthentication", "NetworkPolicy"} <= kinds


def test_the_sandbox_overlay_applies_to_the_test_cluster(tmp_path):
    """Against the cluster PORTAL_TEST_KUBECONFIG names: a server-side dry run of every object (in the portal's
    namespace, created for the check when missing and removed again)."""
    kubeconfig = real_cluster_kubeconfig()
    if not kubeconfig:
        pytest.skip("PORTAL_TEST_KUBECONFIG is not set: no cluster to dry-run the sandbox overlay against")
    dyn = DynamicClient(
        k8s_config.new_client_from_config(config_file=kubeconfig), cache_file=str(tmp_path / "discovery.json")
    )
    namespaces = dyn.resources.get(api_version="v1", kind="Namespace")
    created = False
    try:
        namespaces.get(name=PORTAL_SERVICE)
    except NotFoundError:
        namespaces.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PORTAL_SERVICE}})
        created = True
    try:
        for document in rendered("sandbox"):
            api = dyn.resources.get(api_version=document["apiVersion"], kind=document["kind"])
            api.server_side_apply(
                body=document,
                name=document["metadata"]["name"],
                namespace=document["metadata"].get("namespace"),
                field_manager="portal-deploy-check",
                dry_run="All",
            )
    finally:
        if created:
            namespaces.delete(name=PORTAL_SERVICE)
