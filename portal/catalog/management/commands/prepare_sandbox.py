from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal.catalog.models import PlatformSettings
from provisioning.errors import ProvisioningError
from provisioning.operations import prepare_sandbox


class Command(BaseCommand):
    help = (
        "Local mode only: make in the AWS sandbox what real AWS already has (a VPC, two subnets, the security group "
        "of the cluster's nodes, the EKS cluster) and enter their ids in the platform settings, as an SRE enters "
        "a real platform's. Then `bootstrap` applies the platform scope on them. Idempotent."
    )

    def handle(self, **options):
        try:
            network = prepare_sandbox()
        except ProvisioningError as exc:
            raise CommandError(f"preparing the sandbox failed ({exc.code}): {exc}") from exc
        with transaction.atomic():
            row = PlatformSettings.objects.select_for_update().get(pk=PlatformSettings.load().pk)
            row.vpc_id = network.vpc_id
            row.subnet_ids = list(network.subnet_ids)
            row.node_security_group_id = network.node_security_group_id
            row.save(update_fields=["vpc_id", "subnet_ids", "node_security_group_id", "updated_at"])
        self.stdout.write(
            f"  sandbox network: VPC {network.vpc_id}, subnets {', '.join(network.subnet_ids)}, "
            f"nodes' security group {network.node_security_group_id}"
        )
