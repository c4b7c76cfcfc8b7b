from django.core.management.base import BaseCommand, CommandError

from provisioning.aws.bootstrap import CERTIFICATE_WAIT_SECONDS, bootstrap
from provisioning.choices import RunStatus
from provisioning.errors import ProvisioningError, RunInProgress
from provisioning.operations import bootstrap_platform_layer


class Command(BaseCommand):
    help = (
        "Adopt or create the platform's shared AWS pieces (hosted zones in the sandbox, the two ALBs with HTTPS "
        "listeners, the WAF web ACLs and IP set, their associations) and record them in the platform settings. "
        "Then plan and apply the platform layer (gateways, mesh, logging, tracing, monitoring). "
        "Idempotent: a second run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--certificate-wait",
            type=float,
            default=CERTIFICATE_WAIT_SECONDS,
            help="Seconds to wait for ACM to issue a listener's default certificate.",
        )
        parser.add_argument(
            "--skip-platform-layer",
            action="store_true",
            help="Only the AWS pieces; do not plan and apply the platform's Kubernetes objects.",
        )

    def handle(self, certificate_wait, **options):
        try:
            result = bootstrap(certificate_wait=certificate_wait)
        except ProvisioningError as exc:
            raise CommandError(f"bootstrap failed ({exc.code}): {exc}") from exc
        for action in result["actions"] or ["nothing to change"]:
            self.stdout.write(f"  {action}")
        for level in ("external", "internal"):
            self.stdout.write(
                f"  {level}: zone {result[f'{level}_zone_id']}, ALB {result[f'{level}_alb_dns_name']}, "
                f"web ACL {result[f'{level}_web_acl_arn'].rsplit('/', 2)[-2]}"
            )
        self.stdout.write(self.style.SUCCESS(f"platform bootstrapped in account {result['aws_account_id']}"))
        if options["skip_platform_layer"]:
            return
        try:
            run = bootstrap_platform_layer()
        except RunInProgress as exc:
            raise CommandError(str(exc)) from exc
        summary = run.plan.summary if run.plan else {}
        line = ", ".join(f"{summary.get(k, 0)} {k}" for k in ("create", "update", "delete", "unchanged"))
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"platform layer: run #{run.pk} {run.status}: {run.error}")
        self.stdout.write(self.style.SUCCESS(f"platform layer applied by run #{run.pk} ({line})"))
