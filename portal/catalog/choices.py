"""Choices of the catalog, one class each."""

from django.db import models


class MembershipRole(models.TextChoices):
    OWNER = "owner", "Owner"
    MEMBER = "member", "Member"


class MembershipSource(models.TextChoices):
    LOCAL = "local", "Granted in the portal"
    SSO = "sso", "From the IdP's groups claim"


class Lifecycle(models.TextChoices):
    EXPERIMENTAL = "experimental", "Experimental"
    PRODUCTION = "production", "Production"
    DEPRECATED = "deprecated", "Deprecated"


class Protocol(models.TextChoices):
    HTTP = "http", "HTTP"
    GRPC = "grpc", "gRPC"
    TCP = "tcp", "TCP (L4 only)"


class ExposureLevel(models.TextChoices):
    MESH = "mesh", "Mesh only (cluster-internal)"
    INTERNAL = "internal", "Internal ALB (corp network, WAF IP allow-list)"
    EXTERNAL = "external", "External ALB (internet, WAF SQLi/XSS rules)"


class LoadBalancer(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    LEAST_REQUEST = "least_request", "Least request"
    RANDOM = "random", "Random"
    CONSISTENT_HASH = "consistent_hash", "Consistent hash (sticky)"


class MtlsMode(models.TextChoices):
    STRICT = "STRICT", "Strict (mTLS only)"
    PERMISSIVE = "PERMISSIVE", "Permissive (mTLS and plain text)"


class MatchType(models.TextChoices):
    EXACT = "exact", "equals"
    PREFIX = "prefix", "starts with"
    REGEX = "regex", "matches regex"


class ServiceState(models.TextChoices):
    ACTIVE = "active", "Active"
    DELETING = "deleting", "Being deleted"
    DELETE_FAILED = "delete_failed", "Delete failed"


class KubernetesTarget(models.TextChoices):
    GITOPS = "gitops", "GitOps repository"
    KUBERNETES = "kubernetes", "Kubernetes API (server-side apply)"


# The values CloudWatch Logs accepts for a log group's retention (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
LogRetention = models.IntegerChoices("LogRetention", [(f"D{d}", (d, f"{d} days")) for d in LOG_RETENTION_DAYS])

# Istio's retryOn policies (Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on values).
RETRY_ON_POLICIES = frozenset(
    {
        "5xx",
        "gateway-error",
        "reset",
        "reset-before-request",
        "connect-failure",
        "envoy-ratelimited",
        "retriable-4xx",
        "refused-stream",
        "retriable-status-codes",
        "retriable-headers",
        "http3-post-connect-failure",
        "cancelled",
        "deadline-exceeded",
        "internal",
        "resource-exhausted",
        "unavailable",
    }
)
