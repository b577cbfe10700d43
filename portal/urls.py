from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.garage, name="garage"),
    path("cars/add/", views.claim_start, name="claim_start"),
    path("cars/add/<int:pk>/", views.claim_confirm, name="claim_confirm"),
    path("cars/add/<int:pk>/again/", views.claim_resend, name="claim_resend"),
    path("book/", views.book, name="book"),
    path("history/", views.history, name="history"),
    path("profile/", views.profile, name="profile"),
    path("invite/<int:person_pk>/", views.invitation_send, name="invitation_send"),
    path("welcome/<str:token>/", views.invitation, name="invitation"),
    path("refer/", views.refer, name="refer"),
    path("deletion-requests/", views.deletion_requests, name="deletion_requests"),
    path("deletion-requests/<int:pk>/handled/", views.deletion_request_handled, name="deletion_request_handled"),
    path("profile/export/", views.profile_export, name="profile_export"),
    path("profile/delete/", views.profile_delete, name="profile_delete"),
    path("appointments/<int:pk>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("appointments/<int:pk>/move/", views.appointment_move, name="appointment_move"),
]
