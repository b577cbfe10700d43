"""Create the Stripe products and plans of the Plan rows (idempotent; run on deploy)."""

from typing import Any

from django.core.management.base import BaseCommand

from tenants.billing.services import plans_sync


class Command(BaseCommand):
    help = "Create in Stripe the products and monthly/yearly plans the pricing page offers."

    def handle(self, *args: Any, **options: Any) -> None:
        created = plans_sync()
        self.stdout.write(self.style.SUCCESS(f"Stripe plans in place ({len(created)} created)."))
