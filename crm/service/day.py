"""The service day on the dashboard (``crm.core.checklist.day_panel``): today's appointments, declined work to
call back about."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import StaffRole, User

from .models import Appointment, DeclinedRecommendation

OPEN = (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED, Appointment.Status.ARRIVED,
        Appointment.Status.IN_PROGRESS)


def service_day(user: User) -> dict:
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, time.min))
    appointments = Appointment.objects.filter(slot__starts_at__gte=start, slot__starts_at__lt=start + timedelta(days=1),
                                              status__in=OPEN)
    mine = user.role == StaffRole.SERVICE_ADVISOR
    if mine:
        appointments = appointments.filter(advisor=user)
    declined = DeclinedRecommendation.objects.filter(status=DeclinedRecommendation.Status.OPEN,
                                                     follow_up_on__lte=today)
    return {"appointments": appointments.count(), "declined": declined.count(), "mine": mine, "advisor": user.pk,
            "today": today}
