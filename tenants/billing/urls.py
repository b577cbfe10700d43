"""The dealer admin's billing page, on the tenant host."""

from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("", views.billing_page, name="page"),
    path("plan/", views.plan_change, name="plan_change"),
    path("cancel/", views.cancel, name="cancel"),
    path("resume/", views.resume, name="resume"),
    path("card/setup/", views.card_setup, name="card_setup"),
    path("card/", views.card_save, name="card_save"),
    path("reactivate/", views.reactivate, name="reactivate"),
    path("data/", views.data_export_request, name="data_export"),
    path("data/<str:token>/", views.data_export_download, name="data_export_download"),
]
