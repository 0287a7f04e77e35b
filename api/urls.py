"""/api/v1/: the resources, the OpenAPI 3.1 document and its browsable docs."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from api import pages, views
from portal.roles import ALL_ROLES, require_role

app_name = "api"

router = SimpleRouter(trailing_slash=True)
router.register("tenants", views.TenantViewSet, basename="tenant")
router.register("consent-links", views.ConsentLinkViewSet, basename="consentlink")
router.register("customer-groups", views.CustomerGroupViewSet, basename="customergroup")
router.register("acs-resources", views.AcsResourceViewSet, basename="acsresource")
router.register("assignments", views.AssignmentViewSet, basename="assignment")
router.register("sync-runs", views.SyncRunViewSet, basename="syncrun")
router.register("access-check", views.AccessCheckViewSet, basename="accesscheck")
router.register("audit-events", views.AuditEventViewSet, basename="auditevent")

schema = SpectacularJSONAPIView.as_view()
schema.portal_access = {"read": ALL_ROLES, "write": frozenset()}
# The docs page is a portal page: a visitor who is not signed in is sent to sign in.
docs = require_role(read=ALL_ROLES, write=frozenset())(
    SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html")
)

urlpatterns = [
    path("api/v1/schema/", schema, name="schema"),
    path("api/v1/docs/", docs, name="docs"),
    path("api/tokens/", pages.token_list, name="tokens"),
    path("api/tokens/<int:pk>/revoke/", pages.token_revoke, name="token_revoke"),
    path("api/v1/", include(router.urls)),
    re_path(r"^api/v1/(?P<rest>.*)$", views.not_found, name="not_found"),
]
