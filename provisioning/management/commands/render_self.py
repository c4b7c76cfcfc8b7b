from pathlib import Path

from django.core.management.base import BaseCommand

from provisioning.selfhost.exposure import default_hostname, exposure_yaml
from provisioning.snapshot import platform_snapshot


class Command(BaseCommand):
    help = (
        "Render the objects that expose the portal itself (namespace in the mesh, ServiceAccount, Service, "
        "DestinationRule, VirtualService on the internal gateway, PeerAuthentication STRICT, Telemetry, the web "
        "pods' ingress policy) with the builders every service gets, for a Kustomize overlay under deploy/."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")
        parser.add_argument("--hostname", help="The portal's internal hostname (default: portal.<internal zone>).")

    def handle(self, *args, **options):
        platform = platform_snapshot()
        text = exposure_yaml(platform, options["hostname"] or default_hostname(platform))
        if options["output"]:
            Path(options["output"]).write_text(text)
        else:
            self.stdout.write(text, ending="")
