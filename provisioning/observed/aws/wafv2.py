"""WAF (regional) as the portal sees it: the corp IP set, each level's web ACL and what it is associated with.

A rule's IP set reference is reported by the set's name (``{"IPSet": name}``), as the builder declares it.
"""

from typing import Any

from ...aws.context import AwsContext, tag_dict
from ...aws.kinds import IP_SET, WEB_ACL, WEB_ACL_ASSOCIATION
from ...resources import Resource, aws
from .elbv2 import load_balancer
from .observation import Observation

SCOPE = "REGIONAL"
IP_SET_REFERENCE = "IPSetReferenceStatement"


def summaries(ctx: AwsContext, operation: str, key: str) -> dict[str, dict[str, Any]]:
    """Name -> summary of every IP set or web ACL (``list_ip_sets``/``list_web_acls``), page by page."""
    wafv2, found, kwargs = ctx.client("wafv2"), {}, {"Scope": SCOPE}
    while True:
        page = getattr(wafv2, operation)(**kwargs)
        found |= {summary["Name"]: summary for summary in page.get(key, [])}
        if not page.get("NextMarker") or not page.get(key):
            return found
        kwargs["NextMarker"] = page["NextMarker"]


def ip_set_summaries(ctx: AwsContext) -> dict[str, dict[str, Any]]:
    return summaries(ctx, "list_ip_sets", "IPSets")


def web_acl_summaries(ctx: AwsContext) -> dict[str, dict[str, Any]]:
    return summaries(ctx, "list_web_acls", "WebACLs")


def waf_tags(ctx: AwsContext, arn: str) -> dict[str, str]:
    wafv2, found, kwargs = ctx.client("wafv2"), {}, {"ResourceARN": arn}
    while True:
        page = wafv2.list_tags_for_resource(**kwargs)
        found |= tag_dict((page.get("TagInfoForResource") or {}).get("TagList"))
        if not page.get("NextMarker"):
            return found
        kwargs["NextMarker"] = page["NextMarker"]


def web_acl_for_resource(ctx: AwsContext, resource_arn: str) -> dict[str, Any] | None:
    return ctx.client("wafv2").get_web_acl_for_resource(ResourceArn=resource_arn).get("WebACL")


def name_in_arn(arn: str) -> str:
    """WAF ARNs end in ``<name>/<id>``."""
    return arn.rsplit("/", 2)[-2]


def named_ip_sets(value: Any) -> Any:
    """Rules with every IP set reference's ARN replaced by the set's name, at any depth of nesting."""
    if isinstance(value, list):
        return [named_ip_sets(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: named_ip_sets(item) for key, item in value.items()}
    reference = out.get(IP_SET_REFERENCE)
    if isinstance(reference, dict) and "ARN" in reference:
        named = {k: v for k, v in reference.items() if k != "ARN"}
        out[IP_SET_REFERENCE] = {"IPSet": name_in_arn(reference["ARN"]), **named}
    return out


class IPSetReader:
    kind = IP_SET

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        wanted = {r.key: r for r in (*recorded, *desired)}.values()
        existing = obs.once(("wafv2.ip_sets",), ip_set_summaries, obs.ctx) if wanted else {}
        found = []
        for resource in wanted:
            summary = existing.get(resource.name)
            if summary is None:
                continue
            ip_set = obs.ctx.client("wafv2").get_ip_set(Name=resource.name, Scope=SCOPE, Id=summary["Id"])["IPSet"]
            body = {
                "ip_address_version": ip_set.get("IPAddressVersion"),
                "addresses": sorted(ip_set.get("Addresses", [])),
                "tags": waf_tags(obs.ctx, summary["ARN"]),
            }
            observed = aws(IP_SET, resource.name, body, namespace=resource.namespace)
            obs.outputs[observed.key] = {"arn": summary["ARN"], "id": summary["Id"]}
            found.append(observed)
        return found


class WebACLReader:
    kind = WEB_ACL

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        wanted = {r.key: r for r in (*recorded, *desired)}.values()
        existing = obs.once(("wafv2.web_acls",), web_acl_summaries, obs.ctx) if wanted else {}
        found = []
        for resource in wanted:
            summary = existing.get(resource.name)
            if summary is None:
                continue
            acl = obs.ctx.client("wafv2").get_web_acl(Name=resource.name, Scope=SCOPE, Id=summary["Id"])["WebACL"]
            body = {
                "default_action": acl.get("DefaultAction"),
                "rules": named_ip_sets(acl.get("Rules", [])),
                "visibility_config": acl.get("VisibilityConfig"),
                "tags": waf_tags(obs.ctx, summary["ARN"]),
            }
            observed = aws(WEB_ACL, resource.name, body, namespace=resource.namespace)
            obs.outputs[observed.key] = {"arn": summary["ARN"], "id": summary["Id"]}
            found.append(observed)
        return found


class WebACLAssociationReader:
    kind = WEB_ACL_ASSOCIATION

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """The web ACL in front of each declared ALB (the resource's name)."""
        found = []
        for resource in {r.key: r for r in (*recorded, *desired)}.values():
            alb = load_balancer(obs, resource.name)
            acl = web_acl_for_resource(obs.ctx, alb["LoadBalancerArn"]) if alb else None
            if acl is not None:
                found.append(
                    aws(WEB_ACL_ASSOCIATION, resource.name, {"web_acl": acl["Name"]}, namespace=resource.namespace)
                )
        return found
