from django.core.management.base import BaseCommand, CommandError

from provisioning.aws.bootstrap import CERTIFICATE_WAIT_SECONDS, bootstrap
from provisioning.errors import ProvisioningError


class Command(BaseCommand):
    help = (
        "Adopt or create the platform's shared AWS pieces (hosted zones in the sandbox, the two ALBs with HTTPS "
        "listeners, the WAF web ACLs and IP set, their associations) and record them in the platform settings. "
        "Idempotent: a second run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--certificate-wait",
            type=float,
            default=CERTIFICATE_WAIT_SECONDS,
            help="Seconds to wait for ACM to issue a listener's default certificate.",
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
