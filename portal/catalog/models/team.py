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
    incident_webhook_url = EncryptedTextField(
        blank=True,
        validators=[validate_webhook_url],
        help_text="The incident tool's HTTPS webhook. Stored encrypted; shown masked.",
    )
    sso_group = models.CharField(
        max_length=150, blank=True, help_text="IdP group whose members join this team on SSO login."
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")
    revision = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def incident_webhook_masked(self) -> str:
        return mask(self.incident_webhook_url)


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
