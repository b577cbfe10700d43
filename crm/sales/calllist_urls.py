from django.urls import path

from . import calllist_views as views

urlpatterns = [
    path("", views.call_lists, name="call_lists"),
    path("new/", views.call_list_create, name="call_list_create"),
    path("<int:pk>/", views.call_list_detail, name="call_list_detail"),
    path("<int:pk>/assign/", views.call_list_assign, name="call_list_assign"),
    path("<int:pk>/reassign/", views.call_list_reassign, name="call_list_reassign"),
    path("<int:pk>/close/", views.call_list_close, name="call_list_close"),
    path("next/", views.call_next, name="call_next"),
    path("entries/<int:pk>/", views.call_entry, name="call_entry"),
    path("entries/<int:pk>/outcome/", views.call_entry_outcome, name="call_entry_outcome"),
]
