"""The IAM policy documents are well formed and least privilege: exact actions, production apart from sandbox.

That the code calls nothing else (and everything listed) is checked over the whole session: tests/aws/iam.py.
"""

import json

from .iam import POLICY, SANDBOX_POLICY, policy_actions


def test_the_policies_are_valid_documents_with_exact_actions():
    for path in (POLICY, SANDBOX_POLICY):
        document = json.loads(path.read_text())
        assert document["Version"] == "2012-10-17"
        sids = [s["Sid"] for s in document["Statement"]]
        assert len(sids) == len(set(sids))
        for action in policy_actions(path):
            service, _, name = action.partition(":")
            assert service and name and "*" not in action, f"{path.name}: {action} is not one exact action"


def test_sandbox_only_actions_are_not_granted_in_production():
    """Real AWS already has the network, the cluster and the zones: the portal only adds security groups."""
    assert not policy_actions(POLICY) & policy_actions(SANDBOX_POLICY)
    creates = ("ec2:CreateVpc", "ec2:CreateSubnet", "eks:CreateCluster", "route53:CreateHostedZone")
    assert not policy_actions(POLICY) & set(creates)
    assert {a for a in policy_actions(POLICY) if a.startswith("ec2:")} == {
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:CreateSecurityGroup",
        "ec2:CreateTags",
        "ec2:DeleteSecurityGroup",
        "ec2:DescribeSecurityGroups",
        "ec2:RevokeSecurityGroupIngress",
    }


def test_writes_are_scoped_to_the_portals_names():
    document = json.loads(POLICY.read_text())
    for statement in document["Statement"]:
        writes = [a for a in statement["Action"] if not a.split(":")[1].startswith(("Describe", "List", "Get"))]
        if writes and statement["Sid"] not in ("RequestAndListCertificates", "Identity"):
            assert statement["Resource"] != "*", f"{statement['Sid']} writes to any resource"
