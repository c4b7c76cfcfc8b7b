import os
from pathlib import Path

from django.core.management.base import BaseCommand

from provisioning.desired.alerting import build_alertmanager_yaml
from provisioning.snapshot import active_services, load_services, platform_snapshot


class Command(BaseCommand):
    help = (
        "Write the complete alertmanager.yml for every active service (team routes, Slack and incident-tool "
        "receivers, the people on call now), for platforms that run Alertmanager without the operator's "
        "AlertmanagerConfig resources. It holds the receiver URLs: the file is written readable by its owner only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args, **options):
        names = [name for _, name in active_services()]
        services = [snapshot for _, snapshot in load_services(names).values()]
        text = build_alertmanager_yaml(services, platform_snapshot())
        if not options["output"]:
            self.stdout.write(text, ending="")
            return
        path = Path(options["output"])
        temporary = path.with_name(f".{path.name}.tmp")
        # Created with mode 0600 before anything is written, then moved into place in one step.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
        self.stderr.write(f"wrote {path} ({len(services)} services)")
