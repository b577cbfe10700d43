"""What an owner sees in the portal: only their own, proven cars."""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from accounts.models import User
from crm.customers.models import Vehicle, VehicleLink
from crm.service.models import DeclinedRecommendation, JobLine, ServiceVisit
from crm.service.reminders import next_maintenance

from .models import CustomerLink, VehicleClaim


def proven_claims(user: User) -> QuerySet[VehicleClaim]:
    """This owner's confirmed claims that still hold: the car is still on file for whom it was proven
    (sold on, it leaves the garage, with its appointments and recommendations)."""
    current = VehicleLink.objects.filter(vehicle_id=OuterRef("vehicle_id"), person_id=OuterRef("holder_id"),
                                         ended_on__isnull=True)
    return VehicleClaim.objects.filter(user=user, confirmed_at__isnull=False).filter(Exists(current))


def owner_vehicles(user: User) -> QuerySet[Vehicle]:
    """The cars this owner has proven are theirs and still are."""
    return Vehicle.objects.filter(pk__in=proven_claims(user).values("vehicle_id"))


def owner_holders(user: User) -> QuerySet[VehicleClaim]:
    """Whom the owner's cars are on file for (their customer records): what they see of a car is theirs."""
    return proven_claims(user).values("holder_id")


@dataclass
class GarageCar:
    vehicle: Vehicle
    maintenance_due: date | None
    declined: list[DeclinedRecommendation] = field(default_factory=list)

    @property
    def dates(self) -> list[tuple[str, date]]:
        from django.utils.translation import gettext as _

        car = self.vehicle
        return [(label, day) for label, day in ((_("Next service"), self.maintenance_due),
                                                (_("Inspection due"), car.inspection_due),
                                                (_("Insurance ends"), car.insurance_expiry),
                                                (_("Warranty ends"), car.warranty_end)) if day]


def garage(user: User) -> list[GarageCar]:
    """Each proven car with its next service, its dates and the work declined at the workshop that is
    still open; a bounded number of queries however many cars."""
    cars = list(owner_vehicles(user).order_by("make", "model", "pk"))
    due = next_maintenance(cars)
    declined: dict[int, list[DeclinedRecommendation]] = {}
    for item in DeclinedRecommendation.objects.filter(vehicle__in=cars, person__in=owner_holders(user),
                                                      status=DeclinedRecommendation.Status.OPEN
                                                      ).order_by("follow_up_on", "pk"):
        declined.setdefault(item.vehicle_id, []).append(item)
    return [GarageCar(car, due[car.pk][0] if car.pk in due else None, declined.get(car.pk, [])) for car in cars]


def history(user: User) -> list[ServiceVisit]:
    """The owner's own workshop visits with the proven cars, newest first, each with its lines: visits
    of a car's earlier owner are theirs, not this owner's (what they paid stays private)."""
    link = CustomerLink.objects.filter(user=user).first()
    if link is None:
        return []
    return list(ServiceVisit.objects.filter(person_id=link.person_id, vehicle__in=owner_vehicles(user))
                .select_related("vehicle", "rooftop").prefetch_related(
                    Prefetch("lines", queryset=JobLine.objects.order_by("pk")),
                    Prefetch("declined", queryset=DeclinedRecommendation.objects.order_by("pk")))
                .order_by("-opened_on", "-pk"))
