from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("provisioning", "0003_managed_resource_outputs"),
    ]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="findings",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="The wiring checks' findings on the desired state (code, severity, object, path, message).",
            ),
        ),
    ]
