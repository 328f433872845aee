"""A film runs at most 1,000 minutes, in the admin as in the API (a validator: no SQL)."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0014_drop_indexes_nothing_reads'),
    ]

    operations = [
        migrations.AlterField(
            model_name='film',
            name='runtime_minutes',
            field=models.PositiveIntegerField(validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(1000)]),
        ),
    ]
