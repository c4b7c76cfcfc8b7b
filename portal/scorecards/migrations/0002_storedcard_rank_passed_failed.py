from django.db import migrations, models


def drop_stored_cards(apps, schema_editor):
    """Stored cards are computed again when missing: drop them rather than fill the new columns."""
    apps.get_model("scorecards", "StoredCard").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
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
    ]
