from pathlib import Path

from django.core.management.base import BaseCommand

from provisioning.selfhost.rbac import rbac_yaml
from provisioning.spec import PlatformSpec


class Command(BaseCommand):
    help = (
        "Write the ClusterRoles (and bindings to the portal's ServiceAccount) the `kubernetes` target needs: exactly "
        "the kinds and verbs it uses, and the permissions the platform layer's roles grant."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args, **options):
        # The platform layer's role rules do not depend on the platform settings: the defaults render them.
        text = rbac_yaml(PlatformSpec())
        if options["output"]:
            Path(options["output"]).write_text(text)
        else:
            self.stdout.write(text, ending="")
