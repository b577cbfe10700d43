from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("api-keys/", views.key_list, name="keys"),
    path("api-keys/<int:pk>/revoke/", views.key_revoke_view, name="key_revoke"),
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook"),
    path("webhooks/deliveries/<int:pk>/", views.delivery_detail, name="delivery"),
    path("webhooks/deliveries/<int:pk>/replay/", views.delivery_replay, name="delivery_replay"),
]
