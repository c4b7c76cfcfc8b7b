"""The platform layer, byte for byte, for a bootstrapped platform: its Kubernetes objects (every one strictly valid
and owned) and its shared AWS pieces.

Regenerate after an intended change with ``PORTAL_UPDATE_GOLDEN=1 pytest tests/platform/test_golden.py`` and
review the diff like code.
"""

import dataclasses
import os
from pathlib import Path

import pytest

from provisioning import names
from provisioning.aws.kinds import ALARM
from provisioning.desired.platform import PLATFORM_KINDS, platform_namespaces, render_platform
from provisioning.desired.platform.releases import ARGOCD_NAMESPACE
from provisioning.preflight import SchemaValidator
from provisioning.queries import document
from provisioning.resources import AWS, KUBERNETES, to_yaml_documents

from .samples import CRDS, PLATFORM, platform_manifests

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "platform.yaml"
GOLDEN_AWS = Path(__file__).resolve().parents[1] / "golden" / "platform-aws.yaml"


@pytest.mark.parametrize(("golden", "provider"), [(GOLDEN, KUBERNETES), (GOLDEN_AWS, AWS)], ids=["kubernetes", "aws"])
def test_rendering_matches_the_golden_file(golden, provider):
    text = to_yaml_documents([document(r) for r in render_platform(PLATFORM) if r.provider == provider])
    if os.environ.get("PORTAL_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.exists(), f"no golden file {golden.name}; run with PORTAL_UPDATE_GOLDEN=1"
    assert text == golden.read_text(), f"the platform layer renders differently from {golden.name}"


@pytest.fixture(scope="module")
def validator() -> SchemaValidator:
    return SchemaValidator.from_crd_dir(CRDS)


def test_every_object_is_strictly_valid(validator):
    manifests = platform_manifests()
    for manifest in manifests:
        assert validator.has_schema(manifest["apiVersion"], manifest["kind"]), manifest["kind"]
    assert validator.validate_all(manifests) == []


def test_every_object_is_the_platforms_and_of_a_kind_the_engine_lists():
    resources = [r for r in render_platform(PLATFORM) if r.provider == KUBERNETES]
    for resource in resources:
        labels = resource.body["metadata"]["labels"]
        component = labels[names.LABEL_NAME]
        assert labels.items() >= names.platform_labels(component).items(), resource.label()
        assert labels[names.LABEL_OWNER] == names.OWNER_PLATFORM
        assert (resource.api_version, resource.kind) in PLATFORM_KINDS, resource.label()
        # The one secret: the SRE team's alert receivers, beside the AlertmanagerConfig that reads them.
        secret = (resource.kind, resource.namespace, resource.name) == (
            "Secret",
            PLATFORM.monitoring_namespace,
            names.receiver_secret_name(PLATFORM.sre_team),
        )
        assert resource.sensitive == secret, resource.label()
    assert len({r.key for r in resources}) == len(resources)
    # The list is exact: a kind listed but never rendered would only cost the engine a listing per namespace.
    assert {(r.api_version, r.kind) for r in resources} == set(PLATFORM_KINDS)


def test_objects_stay_in_the_platform_namespaces_and_only_the_layers_own_namespaces_are_owned():
    resources = [r for r in render_platform(PLATFORM) if r.provider == KUBERNETES]
    used = {r.namespace for r in resources if r.namespace}
    # A namespace may hold only a release's objects (the Nginx controller's): its Application is in Argo CD's.
    releases = {r.body["spec"]["destination"]["namespace"] for r in resources if r.kind == "Application"}
    assert used == set(platform_namespaces(PLATFORM)) - (releases - used)
    owned = {r.name for r in resources if r.kind == "Namespace"}
    used |= releases & owned
    # istiod's, the Prometheus operator's, cert-manager's and Argo CD's namespaces are theirs: never pruned by the
    # platform layer.
    theirs = {
        PLATFORM.istio_root_namespace,
        PLATFORM.monitoring_namespace,
        names.CERT_MANAGER_NAMESPACE,
        ARGOCD_NAMESPACE,
    }
    assert owned == used - theirs


def test_rendering_is_deterministic_and_follows_the_settings():
    assert to_yaml_documents(platform_manifests()) == to_yaml_documents(platform_manifests())
    moved = dataclasses.replace(PLATFORM, ingress_namespace="edge", monitoring_namespace="observe")
    resources = [r for r in render_platform(moved) if r.provider == KUBERNETES]
    assert {r.namespace for r in resources if r.kind == "Gateway"} == {"edge"}
    assert {r.namespace for r in resources if r.kind in ("Prometheus", "Alertmanager")} == {"observe"}
    assert set(platform_namespaces(moved)) >= {"edge", "observe"}


def test_before_bootstrap_there_is_no_binding_to_a_target_group_that_does_not_exist():
    fresh = dataclasses.replace(PLATFORM, external_target_group_arn="", internal_target_group_arn="")
    assert [r for r in render_platform(fresh) if r.kind == "TargetGroupBinding"] == []


def test_every_aws_piece_is_tagged_as_the_platforms_and_refers_to_the_others_by_name():
    """Names, not ARNs: the plan of a fresh platform is complete before anything exists."""
    pieces = [r for r in render_platform(PLATFORM) if r.provider == AWS]
    assert len({r.key for r in pieces}) == len(pieces)
    for piece in pieces:
        tags = piece.body.get("tags")
        if piece.owner:
            # The SRE team's topic, rendered so that the alarms' topic exists: the team's, tagged as its services'.
            assert (piece.kind, piece.owner) == ("sns.Topic", "team:platform"), piece.label()
        elif tags is not None:
            assert tags.items() >= names.platform_identity().items(), piece.label()
    # Alarms notify the SRE team's topic by its ARN (CloudWatch takes no other reference), made of its name, the
    # region and the account (which the writer fills in when the platform does not know it yet).
    assert "arn:" not in to_yaml_documents([p.body for p in pieces if p.kind != ALARM])
    fresh = dataclasses.replace(
        PLATFORM, **{f: "" for f in ("external_alb_arn", "corp_ip_set_arn", "external_zone_id")}
    )
    assert [p.body for p in render_platform(fresh) if p.provider == AWS] == [p.body for p in pieces]
