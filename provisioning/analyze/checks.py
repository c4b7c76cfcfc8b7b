"""Every check, and the one entry point that runs them over an inventory."""

from collections.abc import Callable, Iterable, Iterator

from .aws import check_certificates, check_records, check_security_groups, check_web_acls
from .certificates import check_issuers
from .graph import Graph
from .ingress import check_ingress_backends
from .model import Finding, Inventory, Settings
from .monitoring import check_alert_routing, check_service_monitors
from .routing import (
    check_destination_hosts,
    check_gateway_hosts,
    check_gateways_exist,
    check_host_conflicts,
    check_subsets,
    check_unexpanded_hosts,
)
from .secret_refs import check_secrets
from .security import check_gateway_admission, check_plaintext_to_strict

Check = Callable[[Graph], Iterable[Finding]]

# The AWS checks (records to the ALB, listener certificates, security-group rules, WAF associations) read
# `Inventory.aws`: they report nothing on Kubernetes manifests alone.
CHECKS: tuple[Check, ...] = (
    check_gateways_exist,
    check_gateway_hosts,
    check_subsets,
    check_destination_hosts,
    check_gateway_admission,
    check_plaintext_to_strict,
    check_issuers,
    check_secrets,
    check_service_monitors,
    check_ingress_backends,
    check_host_conflicts,
    check_alert_routing,
    check_unexpanded_hosts,
    check_records,
    check_certificates,
    check_security_groups,
    check_web_acls,
)


def sort_key(finding: Finding) -> tuple[str, str, str, str]:
    return finding.code, finding.object, finding.path, finding.message


def analyze(inventory: Inventory, settings: Settings | None = None) -> list[Finding]:
    """Every wiring defect of the set, sorted by code, object and path; the same set gives the same list."""
    graph = Graph(inventory, settings or Settings())
    findings: Iterator[Finding] = (finding for check in CHECKS for finding in check(graph))
    return sorted(set(findings), key=sort_key)
