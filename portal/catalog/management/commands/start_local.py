import os
import secrets
import threading
import time
from urllib.error import URLError
from urllib.request import urlopen

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from portal.catalog.choices import MembershipRole, ServiceState
from portal.catalog.models import Membership, PlatformSettings, Service, Team
from provisioning.errors import PermanentError, RunInProgress, TemporaryError
from provisioning.operations import apply_service
from provisioning.queries import services_with_aws_resources


class Command(BaseCommand):
    help = (
        "Local mode: create the admin SRE, a demo team and the platform team, wait for the AWS sandbox and bootstrap "
        "it, then serve."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--sandbox-timeout", type=float, default=60)

    def handle(self, addr, sandbox_timeout, **options):
        PlatformSettings.load()
        password = self._admin_password()
        team, _ = Team.objects.get_or_create(
            slug="demo",
            defaults={"name": "Demo team", "slack_channel": "#demo-alerts", "sso_group": "demo"},
        )
        Membership.objects.get_or_create(user=self.admin, team=team, defaults={"role": MembershipRole.OWNER})
        # The team that runs the platform (a team like any other): the cluster's alerts and the ALBs' alarms go to it.
        sre, _ = Team.objects.get_or_create(
            slug="platform", defaults={"name": "Platform team", "slack_channel": "#platform-alerts"}
        )
        Membership.objects.get_or_create(user=self.admin, team=sre, defaults={"role": MembershipRole.OWNER})
        PlatformSettings.objects.filter(sre_team="").update(sre_team=sre.slug)
        # The portal answers at once; the sandbox is bootstrapped alongside (it starts empty every time).
        threading.Thread(target=self._prepare_sandbox, args=(sandbox_timeout,), daemon=True).start()
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Portal: http://{addr}/   sign in as 'admin' with password: {password}\n"
                f"  (stored in {self.password_file})\n"
            )
        )
        call_command("runserver", addr, use_reloader=False, use_threading=True)

    def _admin_password(self) -> str:
        self.password_file = settings.VAR_DIR / "admin-password"
        User = get_user_model()
        self.admin = User.objects.filter(username="admin").first()
        if self.admin is not None and self.password_file.exists():
            return self.password_file.read_text().strip()
        password = secrets.token_urlsafe(12)
        if self.admin is None:
            self.admin = User(username="admin", email="admin@example.com")
        self.admin.is_sre = True
        self.admin.is_superuser = True
        self.admin.set_password(password)
        self.admin.save()
        self.password_file.parent.mkdir(parents=True, exist_ok=True)
        self.password_file.write_text(password + "\n")
        os.chmod(self.password_file, 0o600)
        return password

    def _wait_for_sandbox(self, timeout: float) -> bool:
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if not endpoint:
            return False
        deadline = time.monotonic() + timeout
        while True:
            try:
                urlopen(f"{endpoint}/moto-api/", timeout=2).close()  # noqa: S310 - loopback sandbox
                return True
            except (URLError, OSError):
                if time.monotonic() > deadline:
                    self.stderr.write(f"the AWS sandbox at {endpoint} did not answer within {timeout:.0f}s")
                    return False
                time.sleep(0.5)

    def _prepare_sandbox(self, timeout: float) -> None:
        """Give the sandbox what real AWS would have (a network, the cluster), then apply the platform scope."""
        try:
            if self._wait_for_sandbox(timeout):
                call_command("prepare_sandbox", stdout=self.stdout, stderr=self.stderr)
                call_command("bootstrap", stdout=self.stdout, stderr=self.stderr)
                self.readopt_services()
        except CommandError as exc:
            self.stderr.write(f"{exc}; exposed services cannot be applied until `manage.py bootstrap` succeeds")
        finally:
            connection.close()

    def readopt_services(self) -> list[str]:
        """The sandbox starts empty every time: apply again every service that had AWS resources in it, so their
        records, certificates, log groups and alarms exist again in the zones and ALBs the sandbox has now (a
        resource whose zone or ALB is gone plans as a create there). Returns the services queued."""
        queued = []
        active = Service.objects.filter(pk__in=services_with_aws_resources(), state=ServiceState.ACTIVE)
        for service in active.order_by("name"):
            try:
                run = apply_service(service)
            except (RunInProgress, PermanentError, TemporaryError) as exc:
                self.stderr.write(f"{service.name}: not re-applied in the new sandbox: {exc}")
                continue
            queued.append(service.name)
            self.stdout.write(f"{service.name}: re-applied in the new sandbox (run #{run.pk}, {run.status})")
        return queued
