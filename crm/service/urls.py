from django.urls import path

from . import calendar_views, views

app_name = "service"

urlpatterns = [
    path("", views.visit_list, name="visits"),
    path("visits/new/", views.visit_create, name="visit_create"),
    path("visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:pk>/lines/", views.line_create, name="line_create"),
    path("visits/<int:pk>/declined/", views.declined_create, name="declined_create"),
    path("visits/<int:pk>/close/", views.visit_close, name="visit_close"),
    path("declined/", views.declined_list, name="declined"),
    path("declined/<int:pk>/", views.declined_status, name="declined_status"),
    path("reminders/", views.reminder_tasks, name="reminders"),
    path("reminders/rules/", views.reminder_rules, name="reminder_rules"),
    path("reminders/<int:pk>/done/", views.reminder_done, name="reminder_done"),
    path("calendar/", calendar_views.calendar, name="calendar"),
    path("calendar/slots/<int:slot_pk>/book/", calendar_views.appointment_create, name="appointment_create"),
    path("appointments/<int:pk>/status/", calendar_views.appointment_status, name="appointment_status"),
    path("capacity/", calendar_views.capacity, name="capacity"),
]
