"""A tenant URL map for the observability tests: a view that fails on a customer's data, one that logs for a
signed-in user, one that enqueues a task."""

import logging

from django.db import IntegrityError, connection
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from tests import observability_tasks

logger = logging.getLogger("crm.test")
QUEUE = "dealercrm-test-obs"


@csrf_exempt
def customer_save(request: HttpRequest) -> HttpResponse:
    customer_email = request.POST["email"]  # a local variable holding the customer, as real code has
    raise IntegrityError(f'duplicate key value violates unique constraint "email" ({customer_email})')


def looked_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        logger.warning("customer card opened")
    return HttpResponse("ok")


def task_enqueue(request: HttpRequest) -> HttpResponse:
    result = observability_tasks.work.apply_async(args=["olga@customer.test"], queue=QUEUE,
                                                  headers={"_schema_name": connection.schema_name})
    return HttpResponse(result.id)


urlpatterns = [
    path("obs/customer/", customer_save, name="obs_customer_save"),
    path("obs/looked-up/", looked_up, name="obs_looked_up"),
    path("obs/enqueue/", task_enqueue, name="obs_enqueue"),
]
