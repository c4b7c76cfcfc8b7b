from django.core.management.base import BaseCommand
from django.db import transaction

from portal.catalog.models import Team
from portal.core import crypto


class Command(BaseCommand):
    help = "Re-encrypt every stored secret under the first key of PORTAL_ENCRYPTION_KEYS."

    @transaction.atomic
    def handle(self, **options):
        count = 0
        for team in Team.objects.select_for_update():
            stored = [field for field in Team.SECRET_FIELDS if getattr(team, field)]
            if stored:
                # Reading decrypts with any key; saving encrypts with the first one.
                team.save(update_fields=stored)
                count += len(stored)
        crypto.fernet()  # fail loudly now if the key ring is invalid
        self.stdout.write(f"re-encrypted {count} secret(s) under the newest key")
