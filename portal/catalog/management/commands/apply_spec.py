import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.catalog.api.specfiles import Conflict, SpecError, apply_spec_text, plan_lines


class Command(BaseCommand):
    help = (
        "Apply a service spec file (service.yaml: apiVersion portal.io/v1, kind Service, metadata.name/team, spec): "
        "declare each service it holds, print its plan and request its apply run (approvals as through the API). "
        "All or nothing; a second apply of the same file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the spec file (YAML, or JSON when it ends in .json); - for standard input")
        parser.add_argument("--plan-only", action="store_true", help="print what would change; write nothing")

    def handle(self, file, plan_only=False, **options):
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise CommandError(f"{file}: no such file") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: cannot read it: {exc}") from exc
        try:
            outcomes = apply_spec_text(text, json_text=file.endswith(".json"), plan_only=plan_only)
        except SpecError as exc:
            raise CommandError(f"{file}: nothing was applied:\n" + "\n".join(str(p) for p in exc.problems)) from exc
        except Conflict as exc:
            raise CommandError(f"{file}: {exc}") from exc
        for outcome in outcomes:
            for line in plan_lines(outcome, plan_only=plan_only):
                self.stdout.write(line)
        if plan_only:
            self.stdout.write("plan only: nothing was written")
