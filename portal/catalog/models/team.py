from django.conf import settings
from django.db import models

from portal.core.crypto import EncryptedTextField, mask

from ..choices import MembershipRole, MembershipSource
from ..validators import validate_dns1123_label, validate_slack_channel, validate_webhook_url


class Team(models.Model):
    """A product team: owns services, receives their alerts, keeps an on-call schedule."""

    slug = models.CharField(max_length=63, unique=True, validators=[validate_dns1123_label])
    name = models.CharField(max_length=100)
    slack_channel = models.CharField(max_length=81, blank=True, validators=[validate_slack_channel])
    # The incident tool receives two senders with different payloads, so it gives each its own address (in
    # incident.io: an "Alertmanager" alert source with a bearer token, an "Amazon CloudWatch" one for SNS).
    incident_alertmanager_url = EncryptedTextField(
        blank=True,
        validators=[validate_webhook_url],
        help_text="The incident tool's Alertmanager source: the HTTPS URL Alertmanager posts the team's critical "
        "alerts to. Stored encrypted; shown masked.",
    )
    incident_alertmanager_token = EncryptedTextField(
        blank=True,
        help_text="The Alertmanager source's token, sent as 'Authorization: Bearer'. Stored encrypted; never shown.",
    )
    incident_sns_url = EncryptedTextField(
        blank=True,
        validators=[validate_webhook_url],
        help_text="The incident tool's CloudWatch (Amazon SNS) source: the HTTPS URL the team's SNS topic "
        "subscribes, where the AWS alarms arrive. Stored encrypted; shown masked.",
    )
    slack_webhook_url = EncryptedTextField(
        blank=True,
        validators=[validate_webhook_url],
        help_text="A Slack incoming-webhook URL of the team's channel: the portal posts failed runs, waiting "
        "approvals, drift and on-call hand-overs there. Stored encrypted; shown masked.",
    )
    sso_group = models.CharField(
        max_length=150, blank=True, help_text="IdP group whose members join this team on SSO login."
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")
    revision = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The encrypted columns: never shown in full, never written to the audit log.
    SECRET_FIELDS = (
        "incident_alertmanager_url",
        "incident_alertmanager_token",
        "incident_sns_url",
        "slack_webhook_url",
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def incident_alertmanager_masked(self) -> str:
        return mask(self.incident_alertmanager_url)

    @property
    def incident_sns_masked(self) -> str:
        return mask(self.incident_sns_url)

    @property
    def slack_webhook_masked(self) -> str:
        return mask(self.slack_webhook_url)

    @property
    def has_incident_alertmanager_token(self) -> bool:
        return bool(self.incident_alertmanager_token)


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    source = models.CharField(max_length=10, choices=MembershipSource.choices, default=MembershipSource.LOCAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "user"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def role_phrase(self) -> str:
        return "an owner" if self.role == MembershipRole.OWNER else "a member"

    def change_refusal(self, role: str | None = None) -> str:
        """Why this membership may not take ``role`` (or, with None, be removed); empty when it may."""
        if role == self.role:
            return ""
        if self.source == MembershipSource.SSO:
            return (
                f"{self.user.username}'s membership of team {self.team.slug} comes from the IdP's groups and is "
                "synced at each sign-in: change it in the IdP."
            )
        if self.role == MembershipRole.OWNER:
            others = self.team.memberships.filter(role=MembershipRole.OWNER).exclude(pk=self.pk)
            if not others.exists():
                return (
                    f"{self.user.username} is the last owner of team {self.team.slug}; make someone else an owner "
                    "first."
                )
        return ""
