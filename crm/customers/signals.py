"""What the customer database tells other modules, without depending on them."""

from django.dispatch import Signal

# Sent by the DMS import after each chunk of a service file, with ``rows``: one dict per repair
# order (source_ref, vehicle_id, person_id, rooftop_id, visited, order_number, mileage, amount, work).
visits_imported = Signal()
