import django.db.models.deletion
from django.db import migrations, models


def drop_stored_cards(apps, schema_editor):
    """Stored cards are computed again when missing: drop them rather than fill the new columns."""
    apps.get_model("scorecards", "StoredCard").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0016_service_runbook_team_slack"),
        ("scorecards", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(drop_stored_cards, migrations.RunPython.noop),
        migrations.AddField(
            model_name="storedcard",
            name="rank",
            field=models.PositiveSmallIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="storedcard",
            name="passed",
            field=models.PositiveSmallIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="storedcard",
            name="failed",
            field=models.PositiveSmallIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="storedcard",
            name="failing",
            field=models.PositiveBigIntegerField(default=0),
            preserve_default=False,
        ),
            migrations.AddField(
            model_name="storedcard",
            name="name",
            field=models.CharField(default="", max_length=63, unique=True),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="storedcard",
            name="team",
            field=models.ForeignKey(
                default=None, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="catalog.team"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="storedcard",
            name="tier",
            field=models.PositiveSmallIntegerField(default=0),
            preserve_default=False,
        ),
            migrations.CreateModel(
            name="CardDetails",
            fields=[
                (
                    "card",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="found",
                        serialize=False,
                        to="scorecards.storedcard",
                    ),
                ),
                ("details", models.JSONField(help_text="Rule id -> what was found.")),
            ],
            options={"verbose_name_plural": "card details"},
        ),
        migrations.RemoveField(model_name="storedcard", name="details"),
    ]
