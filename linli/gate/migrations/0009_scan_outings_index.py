"""The outings a household used in a period are counted from an index of the allowed outs only.

Every scan counts them (``gate_scan_online``, ``_household_now``; the sync's violations too). Through ``scan_household_period_idx`` the count read every scan of the household in the
period, returns and refusals included, one heap page each: a busy household's count grew with its
scans. The partial index holds the allowed outs only, a handful per period, and answers the count
from the index.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("gate", "0008_scan_not_yet_valid"),
        ("registry", "0005_person_equality_indexes_pattern_ops"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="gatescan",
            index=models.Index(
                condition=models.Q(("direction", "out"), ("verdict", "allowed")),
                fields=["household", "period_start"],
                name="scan_outings_idx",
            ),
        ),
    ]
