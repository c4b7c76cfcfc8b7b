"""The IAM roles the platform's releases name (IRSA) are created with the cluster; `iam/irsa/` holds what each
needs. Every role a release's ServiceAccount names has its policy there (or, for the AWS Load Balancer Controller,
its project's own), scoped to what that component writes."""

import json
from pathlib import Path

from provisioning import names
from provisioning.desired.platform.releases import releases
from tests.platform.samples import PLATFORM

IRSA = Path(__file__).resolve().parents[2] / "iam" / "irsa"
# Its project publishes the policy of each controller version; the platform takes it as is.
UPSTREAM = {"aws-load-balancer-controller"}


def irsa_components() -> dict[str, str]:
    """Component -> namespace, of every release whose ServiceAccount assumes an IRSA role."""
    found = {}
    for release in releases(PLATFORM):
        account = release.values.get("serviceAccount") or {}
        role = (account.get("annotations") or {}).get(names.IRSA_ANNOTATION)
        if role:
            assert role == names.irsa_role_arn(PLATFORM.aws_account_id, PLATFORM.cluster_name, account["name"])
            found[account["name"]] = release.namespace
    return found


def policy(name: str) -> dict:
    return json.loads((IRSA / f"{name}.json").read_text())


def test_every_role_a_release_names_has_its_policy():
    components = irsa_components()
    assert set(components) == {"fluent-bit", "opentelemetry-collector", "aws-load-balancer-controller"}
    for component in set(components) - UPSTREAM:
        assert policy(component)["Statement"], component
    assert {p.stem for p in IRSA.glob("*.json")} == (set(components) - UPSTREAM) | {"trust-policy"}


def test_fluent_bit_writes_only_into_the_clusters_log_groups():
    (statement,) = policy("fluent-bit")["Statement"]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    # Services' groups (/eks/<cluster>/<team>/<service>) and the platform's (/eks/<cluster>/platform/<component>).
    prefix = "arn:aws:logs:REGION:ACCOUNT_ID:log-group:/eks/CLUSTER/"
    assert names.log_group_name("CLUSTER", "team", "svc").startswith("/eks/CLUSTER/")
    assert all(resource.startswith(prefix) for resource in statement["Resource"])


def test_the_trust_policy_admits_one_service_account():
    (statement,) = policy("trust-policy")["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = statement["Condition"]["StringEquals"]
    assert condition["OIDC_PROVIDER:sub"] == "system:serviceaccount:NAMESPACE:COMPONENT"
    assert condition["OIDC_PROVIDER:aud"] == "sts.amazonaws.com"
