from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from portal.catalog.choices import MembershipRole
from portal.catalog.models import Membership, Team


class Command(BaseCommand):
    help = "Create USERNAME if missing, grant a team role or the SRE role, and print a new API token."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--team", help="slug of the team to join")
        parser.add_argument("--role", choices=MembershipRole.values, default=MembershipRole.MEMBER)
        parser.add_argument("--sre", action="store_true", help="grant the platform SRE role")

    @transaction.atomic
    def handle(self, username, team=None, role=MembershipRole.MEMBER, sre=False, **options):
        team_obj = None
        if team:
            team_obj = Team.objects.filter(slug=team).first()
            if team_obj is None:
                raise CommandError(f"--team: no team with slug {team!r}")
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
        if sre:
            user.is_sre = True
        user.save()
        if team_obj is not None:
            Membership.objects.update_or_create(user=user, team=team_obj, defaults={"role": role})
        # One token per user: a new one replaces (revokes) the previous.
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        self.stdout.write(token.key)
