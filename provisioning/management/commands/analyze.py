from django.core.management.base import BaseCommand, CommandError

from provisioning.analysis import desired_state
from provisioning.analyze import InputError, Inventory, Settings, analyze, load_manifests
from provisioning.analyze.cli import add_arguments
from provisioning.analyze.report import ERRORS, UNREADABLE, exit_status, render, summary


class Command(BaseCommand):
    # It reads manifests and the catalog and writes nothing: the project checks add nothing but start-up time.
    requires_system_checks = []
    help = (
        "Check that objects are wired together: gateways, hosts, subsets, services, authorization, mTLS, issuers, "
        "secrets, service monitors, ingress backends and alert routes (codes PA001...). With -f, the given "
        "manifests only (a reference outside them is a finding); without, the portal's whole desired state. "
        "Exit status 0 without errors, 1 with errors, 2 for unreadable input."
    )

    def add_arguments(self, parser):
        add_arguments(parser, required=False)

    def handle(self, *args, paths=None, format="text", **options):
        if paths:
            try:
                loaded = load_manifests(paths)
            except InputError as exc:
                raise CommandError(str(exc), returncode=UNREADABLE) from exc
            for where in loaded.skipped:
                self.stderr.write(f"skipped {where}: not a Kubernetes object")
            inventory, settings = Inventory(tuple(loaded.objects)), Settings()
        else:
            inventory, settings = desired_state()
        findings = analyze(inventory, settings)
        if findings or format == "json":
            self.stdout.write(render(findings, format), ending="")
        result = summary(findings, len(inventory.objects))
        if exit_status(findings) == ERRORS:
            raise CommandError(result, returncode=ERRORS)
        self.stderr.write(result)
