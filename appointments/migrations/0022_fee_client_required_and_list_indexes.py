"""
A fee's client is required from now on; a client's fees and cancelled appointments are read
by indexes of their own, from either end of a list.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('appointments', '0021_fee_client'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='fee',
            name='client',
            field=models.ForeignKey(db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='appointment',
            index=models.Index(condition=models.Q(('status', 'cancelled')), fields=['client', 'start'], name='appointment_client_cancelled'),
        ),
        migrations.AddIndex(
            model_name='fee',
            index=models.Index(fields=['client', 'created_at'], name='fee_client_created'),
        ),
    ]
