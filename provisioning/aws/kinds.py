"""The AWS kinds the portal manages, and the order they are created in (deleted in reverse).

What others refer to comes first: a zone before its delegation and the certificates validated in it, a security
group before the ALB that uses it, the ALB before its listeners, the listener before the certificates on it, the IP
set before the web ACL that references it, a team's topic before the alarm that notifies it, a log group before its
metric filter (and the EKS control-plane group before the cluster's logging is turned on, so that EKS does not make
it without the platform's retention). A service's record and certificate point at the platform's ALB and listener,
so they come after the shared pieces.
"""

# The platform scope's shared pieces (``desired/platform/aws.py``).
HOSTED_ZONE = "route53.HostedZone"
ZONE_DELEGATION = "route53.Delegation"
PLATFORM_CERTIFICATE = "acm.PlatformCertificate"
PLATFORM_RECORD = "route53.PlatformRecord"
CLUSTER_LOGGING = "eks.ClusterLogging"
SECURITY_GROUP = "ec2.SecurityGroup"
SECURITY_GROUP_INGRESS = "ec2.SecurityGroupIngress"
TARGET_GROUP = "elbv2.TargetGroup"
LOAD_BALANCER = "elbv2.LoadBalancer"
LISTENER = "elbv2.Listener"
IP_SET = "wafv2.IPSet"
WEB_ACL = "wafv2.WebACL"
WEB_ACL_ASSOCIATION = "wafv2.WebACLAssociation"

# A service's pieces (``desired/aws.py``); the log group kind also holds the EKS control-plane group.
TOPIC = "sns.Topic"
LOG_GROUP = "logs.LogGroup"
METRIC_FILTER = "logs.MetricFilter"
ALARM = "cloudwatch.MetricAlarm"
CERTIFICATE = "acm.Certificate"
RECORD = "route53.Record"

ORDER = (
    TOPIC,
    HOSTED_ZONE,
    ZONE_DELEGATION,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS,
    TARGET_GROUP,
    LOAD_BALANCER,
    LISTENER,
    PLATFORM_CERTIFICATE,
    PLATFORM_RECORD,
    IP_SET,
    WEB_ACL,
    WEB_ACL_ASSOCIATION,
    LOG_GROUP,
    CLUSTER_LOGGING,
    METRIC_FILTER,
    ALARM,
    CERTIFICATE,
    RECORD,
)
