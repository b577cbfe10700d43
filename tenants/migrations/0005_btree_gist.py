"""btree_gist lives in public, once per database, like pg_trgm: the sales module's exclusion constraint
(no demo car booked twice at once) compares the car's id with ``=`` inside a GiST index."""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_plans_seed")]

    operations = [BtreeGistExtension()]
