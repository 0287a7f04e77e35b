from django.urls import path

from tenants import consent_views, list_views, views

app_name = "tenants"
urlpatterns = [
    path("tenants/", views.tenant_list, name="list"),
    path("tenants/add/", views.tenant_create, name="create"),
    path("tenants/links/", list_views.link_list, name="links"),
    path("tenants/preflight/", views.preflight, name="preflight"),
    path("tenants/<id:pk>/", views.tenant_detail, name="detail"),
    path("tenants/<id:pk>/edit/", views.tenant_edit, name="edit"),
    path("tenants/<id:pk>/offboard/", views.tenant_offboard, name="offboard"),
    path("tenants/<id:pk>/status.json", views.tenant_status, name="status"),
    path(
        "tenants/<id:pk>/offboard/progress.json",
        views.offboarding_progress,
        name="offboard_progress",
    ),
    path("tenants/<id:pk>/verify/", views.tenant_verify, name="verify"),
    path("tenants/<id:pk>/links/", views.link_create, name="link_create"),
    path("tenants/<id:pk>/links/<id:link_pk>/created/", views.link_created, name="link_created"),
    path("tenants/<id:pk>/links/<id:link_pk>/revoke/", views.link_revoke, name="link_revoke"),
    path("tenants/<id:pk>/links/<id:link_pk>/reissue/", views.link_reissue, name="link_reissue"),
    path("tenants/<id:pk>/links/<id:link_pk>/email/", views.link_email, name="link_email"),
    path("tenants/<id:pk>/groups/add/", views.group_add, name="group_add"),
    path("tenants/<id:pk>/groups/<id:group_pk>/remove/", views.group_remove, name="group_remove"),
    path("consent/callback/", consent_views.consent_callback, name="consent_callback"),
    path("consent/new-link/", consent_views.request_link, name="consent_request_link"),
    path("consent/test/", consent_views.user_test_start, name="user_test_start"),
    path("consent/test/callback/", consent_views.user_test_callback, name="user_test_callback"),
    path("consent/<str:token>/", consent_views.consent_landing, name="consent_landing"),
]
