from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "settings"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="settings:rooftops"), name="index"),
    path("rooftops/", views.rooftop_list, name="rooftops"),
    path("rooftops/new/", views.rooftop_edit, name="rooftop_create"),
    path("rooftops/<int:pk>/", views.rooftop_edit, name="rooftop_edit"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/new/", views.staff_create, name="staff_create"),
    path("staff/<int:pk>/", views.staff_edit, name="staff_edit"),
]
