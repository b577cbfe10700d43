"""Reconcile every dealer group with Stripe: for events that never arrived (also nightly, by beat)."""

from typing import Any

from django.core.management.base import BaseCommand

from tenants.billing.tasks import billing_sync


class Command(BaseCommand):
    help = "Re-read every subscription from Stripe and apply it; apply webhook events left unprocessed."

    def handle(self, *args: Any, **options: Any) -> None:
        results = billing_sync()
        for slug, status in sorted(results.items()):
            self.stdout.write(f"{slug}: {status}")
        self.stdout.write(self.style.SUCCESS(f"{len(results)} dealer groups reconciled with Stripe."))
