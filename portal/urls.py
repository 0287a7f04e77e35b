from django.urls import include, path

from portal import health, microsoft, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("operators/", views.operators, name="operators"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Ours first: the Microsoft callback that also validates the user's tenant.
    path(
        "accounts/microsoft/login/callback/",
        microsoft.oauth2_callback,
        name="microsoft_callback",
    ),
    # Ours, not allauth's: sign-in addresses change only through an admin (portal/views.py).
    path("accounts/email/", views.own_email, name="account_email"),
    path("accounts/", include("allauth.urls")),
    path("", include("tenants.urls")),
    path("", include("assignments.urls")),
    path("", include("audit.urls")),
    path("", include("notifications.urls")),
    path("", include("api.urls")),
]

handler400 = "portal.errors.bad_request"
handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"
