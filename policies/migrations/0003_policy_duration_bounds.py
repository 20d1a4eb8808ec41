import datetime

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("policies", "0002_clamp_policy_durations"),
    ]

    operations = [
        migrations.AlterField(
            model_name="policy",
            name="cancel_notice",
            field=models.DurationField(
                default=datetime.timedelta(days=1),
                help_text="How long before the session online cancellation is free (HH:MM:SS; “1 00:00:00” is one day; at most 365 days).",
                validators=[
                    django.core.validators.MinValueValidator(datetime.timedelta(0), "This can't be negative."),
                    django.core.validators.MaxValueValidator(datetime.timedelta(days=365), "This can be at most 365 days."),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="policy",
            name="grace_period",
            field=models.DurationField(
                default=datetime.timedelta(seconds=600),
                help_text="Right after booking, clients may cancel or move for free this long, whatever the notice (at most 30 days).",
                validators=[
                    django.core.validators.MinValueValidator(datetime.timedelta(0), "This can't be negative."),
                    django.core.validators.MaxValueValidator(datetime.timedelta(days=30), "This can be at most 30 days."),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="policy",
            name="reschedule_notice",
            field=models.DurationField(
                default=datetime.timedelta(days=1),
                help_text="At most 365 days.",
                validators=[
                    django.core.validators.MinValueValidator(datetime.timedelta(0), "This can't be negative."),
                    django.core.validators.MaxValueValidator(datetime.timedelta(days=365), "This can be at most 365 days."),
                ],
            ),
        ),
        migrations.AddConstraint(
            model_name="policy",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("cancel_notice__lte", datetime.timedelta(days=365)),
                    ("reschedule_notice__lte", datetime.timedelta(days=365)),
                    ("grace_period__lte", datetime.timedelta(days=30)),
                ),
                name="policy_durations_bounded",
            ),
        ),
    ]
