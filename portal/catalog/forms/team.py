"""The team form: draws the inputs; ``TeamSerializer`` validates (the same rules as the API)."""

from django import forms

from ..choices import MembershipRole


class TeamForm(forms.Form):
    name = forms.CharField(required=False, label="Name")
    slack_channel = forms.CharField(required=False, label="Slack channel", help_text="e.g. #payments-alerts")
    # Labelled with what the incident tool calls each address: it gives Alertmanager and CloudWatch/SNS a source
    # each, since their payloads differ.
    incident_alertmanager_url = forms.CharField(
        required=False,
        label="Incident tool: Alertmanager source URL",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="In incident.io: Alerts → Sources → Alertmanager, its webhook URL. Alertmanager posts the team's "
        "critical alerts there, naming the incident commander and resolver on call. Leave empty to keep the current "
        "one; it is stored encrypted and never shown in full.",
    )
    incident_alertmanager_token = forms.CharField(
        required=False,
        label="Incident tool: Alertmanager source token",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="The secret the same source shows (sent as 'Authorization: Bearer …'). Leave empty to keep it.",
    )
    remove_alertmanager_source = forms.BooleanField(required=False, label="Remove the Alertmanager source")
    incident_sns_url = forms.CharField(
        required=False,
        label="Incident tool: CloudWatch (SNS) source URL",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="In incident.io: Alerts → Sources → Amazon CloudWatch, its HTTPS endpoint. The team's SNS topic "
        "subscribes it (confirm the subscription there); the AWS alarms arrive through it. Leave empty to keep it.",
    )
    remove_sns_source = forms.BooleanField(required=False, label="Remove the CloudWatch (SNS) source")
    slack_webhook_url = forms.CharField(
        required=False,
        label="Slack incoming webhook URL",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="In Slack: an app's Incoming Webhooks, the URL for the team's channel. The portal posts failed "
        "runs, approvals waiting, drift found and on-call hand-overs there. Leave empty to keep the current one; it "
        "is stored encrypted and never shown in full.",
    )
    remove_slack_webhook = forms.BooleanField(required=False, label="Remove the Slack webhook")
    sso_group = forms.CharField(
        required=False, label="SSO group", help_text="Members of this IdP group join the team when they sign in."
    )
    revision = forms.IntegerField(widget=forms.HiddenInput)

    def document(self) -> dict:
        """What to send to ``TeamSerializer`` (partial): a secret only when it changes."""
        data = {k: (self.data.get(k) or "").strip() for k in ("name", "slack_channel", "sso_group")}
        removed = {
            "incident_alertmanager_url": self.data.get("remove_alertmanager_source"),
            "incident_alertmanager_token": self.data.get("remove_alertmanager_source"),
            "incident_sns_url": self.data.get("remove_sns_source"),
            "slack_webhook_url": self.data.get("remove_slack_webhook"),
        }
        for field, remove in removed.items():
            value = (self.data.get(field) or "").strip()
            if remove:
                data[field] = ""
            elif value:
                data[field] = value
        return data


class MemberForm(forms.Form):
    """Add a member on the team's page; ``MembershipSerializer`` validates (the same rules as the API)."""

    username = forms.CharField(required=False, label="Username", max_length=150)
    role = forms.ChoiceField(choices=MembershipRole.choices, initial=MembershipRole.MEMBER, label="Role")
