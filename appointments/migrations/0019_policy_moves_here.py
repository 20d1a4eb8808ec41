"""
The practice's policies become rows of appointments, beside its providers and types: the
terms and the decision they lead to stay in `policies`, which then holds no rows and imports
nothing of appointments. Here only Django's picture moves (the table stays, under its old
name); policies 0004 lets go of it, and 0020 renames the table and moves its content type and
permissions.
"""

import datetime
import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('appointments', '0018_opening_offered_at'),
        ('policies', '0003_policy_duration_bounds'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Policy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('clients_may_cancel', models.BooleanField(default=True, verbose_name='clients may cancel online')),
                        ('clients_may_reschedule', models.BooleanField(default=True, verbose_name='clients may reschedule online')),
                        ('cancel_notice', models.DurationField(default=datetime.timedelta(days=1), help_text='How long before the session online cancellation is free (HH:MM:SS; “1 00:00:00” is one day; at most 365 days).', validators=[django.core.validators.MinValueValidator(datetime.timedelta(0), "This can't be negative."), django.core.validators.MaxValueValidator(datetime.timedelta(days=365), 'This can be at most 365 days.')])),
                        ('reschedule_notice', models.DurationField(default=datetime.timedelta(days=1), help_text='At most 365 days.', validators=[django.core.validators.MinValueValidator(datetime.timedelta(0), "This can't be negative."), django.core.validators.MaxValueValidator(datetime.timedelta(days=365), 'This can be at most 365 days.')])),
                        ('late_cancel', models.CharField(choices=[('refuse', 'Refuse it online'), ('fee', 'Allow it, with a fee')], default='refuse', max_length=8, verbose_name='inside the cancel notice')),
                        ('late_cancel_fee', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=8, validators=[django.core.validators.MinValueValidator(Decimal('0'))])),
                        ('late_reschedule', models.CharField(choices=[('refuse', 'Refuse it online'), ('fee', 'Allow it, with a fee')], default='refuse', max_length=8, verbose_name='inside the reschedule notice')),
                        ('late_reschedule_fee', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=8, validators=[django.core.validators.MinValueValidator(Decimal('0'))])),
                        ('no_show_fee', models.DecimalField(blank=True, decimal_places=2, max_digits=8, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0'))])),
                        ('currency', models.CharField(default='USD', max_length=3, validators=[django.core.validators.RegexValidator('^[A-Z]{3}$', 'Use a three-letter code such as USD.')])),
                        ('max_reschedules', models.PositiveSmallIntegerField(blank=True, help_text='How many times a client may move one appointment online. Empty: no limit.', null=True, verbose_name='most reschedules per appointment')),
                        ('grace_period', models.DurationField(default=datetime.timedelta(seconds=600), help_text='Right after booking, clients may cancel or move for free this long, whatever the notice (at most 30 days).', validators=[django.core.validators.MinValueValidator(datetime.timedelta(0), "This can't be negative."), django.core.validators.MaxValueValidator(datetime.timedelta(days=30), 'This can be at most 30 days.')])),
                        ('text', models.TextField(blank=True, help_text='Shown to clients when they book, cancel or reschedule.', max_length=2000, verbose_name='policy in plain words')),
                        ('appointment_type', models.ForeignKey(blank=True, help_text='Leave empty for the policy of all your appointment types.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='policies', to='appointments.appointmenttype')),
                        ('provider', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='policies', to='appointments.provider')),
                    ],
                    options={
                        'db_table': 'policies_policy',
                        'verbose_name': 'cancellation and rescheduling policy',
                        'verbose_name_plural': 'cancellation and rescheduling policies',
                        'constraints': [models.UniqueConstraint(condition=models.Q(('appointment_type__isnull', True)), fields=('provider',), name='policy_one_per_provider'), models.UniqueConstraint(condition=models.Q(('appointment_type__isnull', False)), fields=('provider', 'appointment_type'), name='policy_one_per_type'), models.CheckConstraint(condition=models.Q(('cancel_notice__gte', datetime.timedelta(0)), ('reschedule_notice__gte', datetime.timedelta(0)), ('grace_period__gte', datetime.timedelta(0))), name='policy_durations_not_negative'), models.CheckConstraint(condition=models.Q(('cancel_notice__lte', datetime.timedelta(days=365)), ('reschedule_notice__lte', datetime.timedelta(days=365)), ('grace_period__lte', datetime.timedelta(days=30))), name='policy_durations_bounded')],
                    },
                ),
            ],
        ),
    ]
