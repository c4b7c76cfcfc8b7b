"""Every AWS call the portal's code makes during the test session, as IAM actions, checked against the policy.

A botocore event hook on the portal's boto3 session records each call (service, operation, whether it tags
on create). At the end of the session every recorded action must be allowed by ``iam/portal-policy.json``
or, for calls only the sandbox step (``prepare_sandbox``) and zone creation in the sandbox make, by
``iam/sandbox-policy.json``; when the whole AWS test package ran, every action the policies list must also have
been called (the policies list exactly those).
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from provisioning.aws import clients

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "iam" / "portal-policy.json"
SANDBOX_POLICY = ROOT / "iam" / "sandbox-policy.json"

# botocore service name -> IAM service prefix (they differ: elbv2, resourcegroupstaggingapi).
IAM_PREFIX = {
    "acm": "acm",
    "cloudwatch": "cloudwatch",
    "ec2": "ec2",
    "eks": "eks",
    "elbv2": "elasticloadbalancing",
    "logs": "logs",
    "resourcegroupstaggingapi": "tag",
    "route53": "route53",
    "sns": "sns",
    "sts": "sts",
    "wafv2": "wafv2",
}
# Tagging while creating needs the tagging permission too.
TAG_ON_CREATE = {
    ("acm", "RequestCertificate"): "acm:AddTagsToCertificate",
    ("cloudwatch", "PutMetricAlarm"): "cloudwatch:TagResource",
    ("ec2", "CreateSecurityGroup"): "ec2:CreateTags",
    ("ec2", "CreateSubnet"): "ec2:CreateTags",
    ("ec2", "CreateVpc"): "ec2:CreateTags",
    ("eks", "CreateCluster"): "eks:TagResource",
    ("elbv2", "CreateListener"): "elasticloadbalancing:AddTags",
    ("elbv2", "CreateLoadBalancer"): "elasticloadbalancing:AddTags",
    ("elbv2", "CreateTargetGroup"): "elasticloadbalancing:AddTags",
    ("logs", "CreateLogGroup"): "logs:TagResource",
    ("sns", "CreateTopic"): "sns:TagResource",
    ("wafv2", "CreateIPSet"): "wafv2:TagResource",
    ("wafv2", "CreateWebACL"): "wafv2:TagResource",
}
TAG_PARAMETERS = ("Tags", "tags", "TagSpecifications")
# Associating a web ACL with an ALB (or taking it off) is also an Elastic Load Balancing permission.
ALSO_NEEDS = {
    ("wafv2", "AssociateWebACL"): "elasticloadbalancing:SetWebAcl",
    ("wafv2", "DisassociateWebACL"): "elasticloadbalancing:SetWebAcl",
}


def actions_of(service: str, operation: str, parameters: set[str]) -> list[str]:
    prefix = IAM_PREFIX.get(service, f"UNKNOWN-SERVICE({service})")
    actions = [f"{prefix}:{operation}"]
    if (service, operation) in TAG_ON_CREATE and parameters & set(TAG_PARAMETERS):
        actions.append(TAG_ON_CREATE[(service, operation)])
    if (service, operation) in ALSO_NEEDS:
        actions.append(ALSO_NEEDS[(service, operation)])
    return actions


def policy_actions(path: Path) -> set[str]:
    document = json.loads(path.read_text())
    found: set[str] = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow", f"{path.name}: only Allow statements are expected"
        listed = statement["Action"]
        found |= {listed} if isinstance(listed, str) else set(listed)
    return found


@dataclass
class Call:
    service: str
    operation: str
    parameters: frozenset[str]

    @property
    def is_write(self) -> bool:
        return clients.is_write(self.operation)

    @property
    def actions(self) -> list[str]:
        return actions_of(self.service, self.operation, set(self.parameters))


@dataclass
class CallRecorder:
    calls: list[Call] = field(default_factory=list)

    def install(self) -> "CallRecorder":
        clients.session().events.register("before-parameter-build", self.record, unique_id="portal-test-recorder")
        return self

    def record(self, model, params, **kwargs) -> None:
        self.calls.append(Call(model.service_model.service_name, model.name, frozenset(params or ())))

    def actions(self) -> set[str]:
        return {action for call in self.calls for action in call.actions}

    def missing(self) -> list[str]:
        allowed = policy_actions(POLICY) | policy_actions(SANDBOX_POLICY)
        return sorted(self.actions() - allowed)

    def unused(self) -> list[str]:
        return sorted((policy_actions(POLICY) | policy_actions(SANDBOX_POLICY)) - self.actions())


RECORDER = CallRecorder()


class CallWindow:
    """The calls recorded from the moment it was opened (or last restarted)."""

    def __init__(self, recorder: CallRecorder):
        self.recorder = recorder
        self.start = len(recorder.calls)

    def restart(self) -> None:
        self.start = len(self.recorder.calls)

    @property
    def calls(self) -> list[Call]:
        return self.recorder.calls[self.start :]

    @property
    def writes(self) -> list[str]:
        return [f"{c.service}:{c.operation}" for c in self.calls if c.is_write]
