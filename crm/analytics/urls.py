from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.retention_dashboard, name="dashboard"),
    path("segments/", views.overview, name="segments"),
    path("segments/customers/", views.customers, name="segment_customers"),
    path("segments/recompute/", views.recompute, name="segments_recompute"),
]
