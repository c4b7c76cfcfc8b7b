"""The team form: draws the inputs; ``TeamSerializer`` validates (the same rules as the API)."""

from django import forms

from ..choices import MembershipRole


class TeamForm(forms.Form):
    name = forms.CharField(required=False, label="Name")
    slack_channel = forms.CharField(required=False, label="Slack channel", help_text="e.g. #payments-alerts")
    incident_webhook_url = forms.CharField(
        required=False,
        label="Incident webhook URL",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="The incident tool's HTTPS webhook. Leave empty to keep the current one; it is stored encrypted "
        "and never shown in full.",
    )
    remove_webhook = forms.BooleanField(required=False, label="Remove the incident webhook")
    sso_group = forms.CharField(
        required=False, label="SSO group", help_text="Members of this IdP group join the team when they sign in."
    )
    revision = forms.IntegerField(widget=forms.HiddenInput)

    def document(self) -> dict:
        """What to send to ``TeamSerializer`` (partial): the webhook only when it changes."""
        data = {k: (self.data.get(k) or "").strip() for k in ("name", "slack_channel", "sso_group")}
        webhook = (self.data.get("incident_webhook_url") or "").strip()
        if self.data.get("remove_webhook"):
            data["incident_webhook_url"] = ""
        elif webhook:
            data["incident_webhook_url"] = webhook
        return data


class MemberForm(forms.Form):
    """Add a member on the team's page; ``MembershipSerializer`` validates (the same rules as the API)."""

    username = forms.CharField(required=False, label="Username", max_length=150)
    role = forms.ChoiceField(choices=MembershipRole.choices, initial=MembershipRole.MEMBER, label="Role")
