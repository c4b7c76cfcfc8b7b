from django.core.management.base import BaseCommand, CommandError

from provisioning.choices import ChangeAction
from provisioning.errors import ProvisioningError, RunInProgress
from provisioning.operations import bootstrap_platform
from provisioning.snapshot import platform_outputs

# A one-off command, not a run step: it may wait longer for ACM to issue the listeners' default certificates.
CERTIFICATE_WAIT_SECONDS = 600


class Command(BaseCommand):
    help = (
        "Plan and apply the platform scope, approved by whoever runs this: its shared AWS pieces (hosted zones, "
        "the two ALBs with their security groups, target groups and listeners, the WAF web ACLs and IP set, the "
        "EKS control-plane logs) and its Kubernetes objects (gateways, mesh, logging, tracing, monitoring). "
        "Idempotent: a second run changes nothing. In the local sandbox run `prepare_sandbox` first."
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
            runs = bootstrap_platform(wait_seconds=certificate_wait)
        except RunInProgress as exc:
            raise CommandError(str(exc)) from exc
        except ProvisioningError as exc:
            raise CommandError(f"bootstrap failed ({exc.code}): {exc}") from exc
        for run in runs:
            changes = [c for c in run.plan.changes if c["action"] != ChangeAction.UNCHANGED] if run.plan else []
            for change in changes:
                where = f"{change['namespace']}/" if change["namespace"] else ""
                self.stdout.write(f"  {change['action']} {change['kind']} {where}{change['name']}")
            summary = run.plan.summary if run.plan else {}
            line = ", ".join(f"{summary.get(k, 0)} {k}" for k in ("create", "update", "delete", "unchanged"))
            self.stdout.write(self.style.SUCCESS(f"platform applied by run #{run.pk} ({line})"))
        outputs = platform_outputs()
        for level in ("external", "internal"):
            self.stdout.write(
                f"  {level}: zone {outputs[f'{level}_zone_id']}, ALB {outputs[f'{level}_alb_dns_name']}, "
                f"web ACL {outputs[f'{level}_web_acl_arn']}"
            )
        self.stdout.write(self.style.SUCCESS(f"platform bootstrapped in account {outputs['aws_account_id']}"))
