from django.urls import path

from . import report_views

urlpatterns = [
    path("", report_views.report, name="reports"),
    path("lost/", report_views.lost_deals, name="lost_deals"),
]
