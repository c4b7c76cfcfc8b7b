import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.catalog.api.backstage import import_entities
from portal.catalog.api.specfiles import SpecError


class Command(BaseCommand):
    help = (
        "Import Backstage catalog-info.yaml documents: Group -> team, Component (spec.type: service) -> service with "
        "the portal's defaults. All or nothing; a second import changes nothing; --dry-run lists what would change."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", help="catalog-info.yaml (YAML documents, or JSON when it ends in .json); - for stdin"
        )
        parser.add_argument("--dry-run", action="store_true", help="list what would change; write nothing")

    def handle(self, file, dry_run=False, **options):
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise CommandError(f"{file}: no such file") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: cannot read it: {exc}") from exc
        try:
            changes, skipped = import_entities(text, json_text=file.endswith(".json"), dry_run=dry_run)
        except SpecError as exc:
            raise CommandError(f"{file}: nothing was imported:\n" + "\n".join(str(p) for p in exc.problems)) from exc
        for change in changes:
            self.stdout.write(("would " if dry_run else "") + str(change))
        for entry in skipped:
            self.stdout.write(str(entry))
        if not changes:
            self.stdout.write("nothing to change")
