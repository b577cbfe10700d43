from django.urls import path

from . import club_views, views

app_name = "portal"

urlpatterns = [
    path("", views.garage, name="garage"),
    path("cars/add/", views.claim_start, name="claim_start"),
    path("cars/add/<int:pk>/", views.claim_confirm, name="claim_confirm"),
    path("cars/add/<int:pk>/again/", views.claim_resend, name="claim_resend"),
    path("phone/", views.phone_start, name="phone_start"),
    path("phone/<int:pk>/", views.phone_confirm, name="phone_confirm"),
    path("book/", views.book, name="book"),
    path("book/<str:token>/", views.guest_times, name="guest_times"),
    path("book/<str:token>/booked/", views.guest_booked, name="guest_booked"),
    path("book/<str:token>/appointment.ics", views.guest_calendar, name="guest_calendar"),
    path("appointments/<int:pk>/", views.appointment_booked, name="appointment_booked"),
    path("appointments/<int:pk>/appointment.ics", views.appointment_calendar, name="appointment_ics"),
    path("history/", views.history, name="history"),
    path("profile/", views.profile, name="profile"),
    path("invite/<int:person_pk>/", views.invitation_send, name="invitation_send"),
    path("welcome/<str:token>/", views.invitation, name="invitation"),
    path("refer/", views.refer, name="refer"),
    path("club/", club_views.club_home, name="club"),
    path("club/join/", club_views.club_join, name="club_join"),
    path("club/leave/", club_views.club_leave, name="club_leave"),
    path("club/rewards/<int:pk>/", club_views.reward_redeem, name="reward_redeem"),
    path("club/events/<int:pk>/", club_views.event_answer, name="event_answer"),
    path("deletion-requests/", views.deletion_requests, name="deletion_requests"),
    path("deletion-requests/<int:pk>/handled/", views.deletion_request_handled, name="deletion_request_handled"),
    path("profile/export/", views.profile_export, name="profile_export"),
    path("profile/delete/", views.profile_delete, name="profile_delete"),
    path("appointments/<int:pk>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("appointments/<int:pk>/move/", views.appointment_move, name="appointment_move"),
]
