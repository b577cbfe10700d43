from django.urls import path

from . import views

app_name = "loyalty"

urlpatterns = [
    path("", views.member_list, name="members"),
    path("members/<int:person_pk>/", views.member_detail, name="member"),
    path("members/<int:person_pk>/adjust/", views.points_adjust, name="adjust"),
    path("card/<str:number>/", views.card_lookup, name="card"),
    path("vouchers/", views.voucher_check, name="vouchers"),
    path("vouchers/<int:pk>/redeem/", views.voucher_redeem, name="voucher_redeem"),
    path("vouchers/<int:pk>/cancel/", views.voucher_cancel, name="voucher_cancel"),
    path("rules/", views.rules_edit, name="rules"),
]
