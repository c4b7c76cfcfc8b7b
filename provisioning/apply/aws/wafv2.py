"""WAF (regional) writes: the corp IP set, each level's web ACL and its association with the level's ALB.

Updates carry the lock token of the read just before, so a concurrent edit fails the step (temporary: the run
tries again) instead of being overwritten. Only a differing piece is written: a changed corp CIDR list is one
UpdateIPSet, and the internal web ACL, which references the set by name, stays as it is.
"""

from typing import Any

from botocore.exceptions import ClientError

from ...aws.context import AwsContext, has_tags, tag_list
from ...aws.errors import is_code
from ...aws.kinds import IP_SET, WEB_ACL, WEB_ACL_ASSOCIATION
from ...diff import declared_diff
from ...errors import PermanentError
from ...observed.aws.elbv2 import find_load_balancer
from ...observed.aws.wafv2 import (
    IP_SET_REFERENCE,
    SCOPE,
    ip_set_summaries,
    named_ip_sets,
    waf_tags,
    web_acl_for_resource,
    web_acl_summaries,
)
from ...resources import Resource
from .adoption import claim, may_create

IP_SET_DESCRIPTION = "Corporate networks the internal ALB admits"
WEB_ACL_DESCRIPTION = "platform portal"


def tag(ctx: AwsContext, arn: str, wanted: dict[str, str]) -> None:
    current = waf_tags(ctx, arn)
    claim(current, f"{arn.rsplit('/', 2)[-2]} ({arn})")
    if not has_tags(current, wanted):
        ctx.client("wafv2").tag_resource(ResourceARN=arn, Tags=tag_list(wanted))


def with_ip_set_arns(ctx: AwsContext, value: Any, what: str) -> Any:
    """Rules with every IP set named in a reference replaced by its ARN, as WAF takes them."""
    if isinstance(value, list):
        return [with_ip_set_arns(ctx, item, what) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: with_ip_set_arns(ctx, item, what) for key, item in value.items()}
    reference = out.get(IP_SET_REFERENCE)
    if isinstance(reference, dict) and "IPSet" in reference:
        summary = ip_set_summaries(ctx).get(reference["IPSet"])
        if summary is None:
            raise PermanentError(
                f"{what}: the IP set {reference['IPSet']} does not exist yet; apply it first", code="IPSetNotFound"
            )
        rest = {k: v for k, v in reference.items() if k != "IPSet"}
        out[IP_SET_REFERENCE] = {"ARN": summary["ARN"], **rest}
    return out


class IPSetWriter:
    kind = IP_SET

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        wafv2, body, name = ctx.client("wafv2"), resource.body, resource.name
        summary = ip_set_summaries(ctx).get(name)
        if summary is None:
            may_create(ctx, resource.label())
            try:
                summary = wafv2.create_ip_set(
                    Name=name,
                    Scope=SCOPE,
                    IPAddressVersion=body["ip_address_version"],
                    Addresses=body["addresses"],
                    Description=IP_SET_DESCRIPTION,
                    Tags=tag_list(body["tags"]),
                )["Summary"]
            except ClientError as exc:
                if not is_code(exc, "WAFDuplicateItemException"):
                    raise
                return self.apply(ctx, resource)  # another worker created it a moment ago
        else:
            current = wafv2.get_ip_set(Name=name, Scope=SCOPE, Id=summary["Id"])
            tag(ctx, summary["ARN"], body["tags"])
            if sorted(current["IPSet"]["Addresses"]) != body["addresses"]:
                wafv2.update_ip_set(
                    Name=name,
                    Scope=SCOPE,
                    Id=summary["Id"],
                    Addresses=body["addresses"],
                    Description=IP_SET_DESCRIPTION,
                    LockToken=current["LockToken"],
                )
        return {"external_id": summary["ARN"], "outputs": {"arn": summary["ARN"], "id": summary["Id"]}}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        wafv2 = ctx.client("wafv2")
        summary = ip_set_summaries(ctx).get(resource.name)
        if summary is not None:
            current = wafv2.get_ip_set(Name=resource.name, Scope=SCOPE, Id=summary["Id"])
            wafv2.delete_ip_set(Name=resource.name, Scope=SCOPE, Id=summary["Id"], LockToken=current["LockToken"])


class WebACLWriter:
    kind = WEB_ACL

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        wafv2, body, name = ctx.client("wafv2"), resource.body, resource.name
        spec = {
            "DefaultAction": body["default_action"],
            "Rules": with_ip_set_arns(ctx, body["rules"], resource.label()),
            "VisibilityConfig": body["visibility_config"],
        }
        summary = web_acl_summaries(ctx).get(name)
        if summary is None:
            may_create(ctx, resource.label())
            try:
                summary = wafv2.create_web_acl(
                    Name=name, Scope=SCOPE, Description=WEB_ACL_DESCRIPTION, Tags=tag_list(body["tags"]), **spec
                )["Summary"]
            except ClientError as exc:
                if not is_code(exc, "WAFDuplicateItemException"):
                    raise
                return self.apply(ctx, resource)
        else:
            current = wafv2.get_web_acl(Name=name, Scope=SCOPE, Id=summary["Id"])
            tag(ctx, summary["ARN"], body["tags"])
            acl = current["WebACL"]
            observed = {
                "default_action": acl.get("DefaultAction"),
                "rules": named_ip_sets(acl.get("Rules", [])),
                "visibility_config": acl.get("VisibilityConfig"),
            }
            declared = {key: body[key] for key in observed}
            if declared_diff(declared, observed):
                wafv2.update_web_acl(
                    Name=name,
                    Scope=SCOPE,
                    Id=summary["Id"],
                    Description=WEB_ACL_DESCRIPTION,
                    LockToken=current["LockToken"],
                    **spec,
                )
        return {"external_id": summary["ARN"], "outputs": {"arn": summary["ARN"], "id": summary["Id"]}}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        wafv2 = ctx.client("wafv2")
        summary = web_acl_summaries(ctx).get(resource.name)
        if summary is not None:
            current = wafv2.get_web_acl(Name=resource.name, Scope=SCOPE, Id=summary["Id"])
            wafv2.delete_web_acl(Name=resource.name, Scope=SCOPE, Id=summary["Id"], LockToken=current["LockToken"])


class WebACLAssociationWriter:
    kind = WEB_ACL_ASSOCIATION

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        alb = find_load_balancer(ctx, resource.name)
        acl = web_acl_summaries(ctx).get(resource.body["web_acl"])
        if alb is None or acl is None:
            missing = f"load balancer {resource.name}" if alb is None else f"web ACL {resource.body['web_acl']}"
            raise PermanentError(
                f"{resource.label()}: the {missing} does not exist yet; apply it first", code="NotFound"
            )
        current = web_acl_for_resource(ctx, alb["LoadBalancerArn"]) or {}
        if current.get("ARN") != acl["ARN"]:
            ctx.client("wafv2").associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=alb["LoadBalancerArn"])
        return {}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        alb = find_load_balancer(ctx, resource.name)
        if alb is not None and web_acl_for_resource(ctx, alb["LoadBalancerArn"]) is not None:
            ctx.client("wafv2").disassociate_web_acl(ResourceArn=alb["LoadBalancerArn"])
