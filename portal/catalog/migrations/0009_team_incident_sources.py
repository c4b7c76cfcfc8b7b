# The team's one incident webhook served two senders with different payloads (Alertmanager's webhook and SNS's
# HTTPS subscription). It becomes the Alertmanager source (the rename keeps every stored value, still
# encrypted); the token and the SNS source start empty, so a team's SNS subscription is dropped at its next apply
# until the team sets the incident tool's CloudWatch/SNS address.

import portal.catalog.validators
import portal.core.crypto
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0008_dns1123_label_validator'),
    ]

    operations = [
        migrations.RenameField(
            model_name='team',
            old_name='incident_webhook_url',
            new_name='incident_alertmanager_url',
        ),
        migrations.AlterField(
            model_name='team',
            name='incident_alertmanager_url',
            field=portal.core.crypto.EncryptedTextField(blank=True, help_text="The incident tool's Alertmanager source: the HTTPS URL Alertmanager posts the team's critical alerts to. Stored encrypted; shown masked.", validators=[portal.catalog.validators.validate_webhook_url]),
        ),
        migrations.AddField(
            model_name='team',
            name='incident_alertmanager_token',
            field=portal.core.crypto.EncryptedTextField(blank=True, help_text="The Alertmanager source's token, sent as 'Authorization: Bearer'. Stored encrypted; never shown."),
        ),
        migrations.AddField(
            model_name='team',
            name='incident_sns_url',
            field=portal.core.crypto.EncryptedTextField(blank=True, help_text="The incident tool's CloudWatch (Amazon SNS) source: the HTTPS URL the team's SNS topic subscribes, where the AWS alarms arrive. Stored encrypted; shown masked.", validators=[portal.catalog.validators.validate_webhook_url]),
        ),
    ]
