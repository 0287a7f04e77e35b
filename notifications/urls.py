from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("notifications/", views.preferences, name="preferences"),
    path("notifications/outbox/", views.outbox, name="outbox"),
    path("notifications/webhooks/", views.webhooks, name="webhooks"),
    path("notifications/webhooks/add/", views.webhook_create, name="webhook_create"),
    path("notifications/webhooks/<int:pk>/", views.webhook_detail, name="webhook"),
    path("notifications/webhooks/<int:pk>/ping/", views.webhook_ping, name="webhook_ping"),
    path("notifications/webhooks/<int:pk>/rotate/", views.webhook_rotate, name="webhook_rotate"),
    path("notifications/webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path(
        "notifications/deliveries/<int:pk>/redeliver/", views.redeliver, name="delivery_redeliver"
    ),
    path("notifications/links/<int:pk>/reminders/", views.link_reminders, name="link_reminders"),
]
