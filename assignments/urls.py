from django.urls import path

from assignments import views

app_name = "assignments"
urlpatterns = [
    path("resources/", views.resources, name="resources"),
    path("resources/add/", views.resource_create, name="resource_create"),
    path("resources/<int:pk>/", views.resource_detail, name="resource"),
    path("resources/<int:pk>/edit/", views.resource_edit, name="resource_edit"),
    path(
        "resources/<int:pk>/assignments/", views.resource_assignments, name="resource_assignments"
    ),
    path("resources/<int:pk>/assignments/add/", views.assignment_add, name="assignment_add"),
    path(
        "resources/<int:pk>/assignments/<int:assignment_pk>/remove/",
        views.assignment_remove,
        name="assignment_remove",
    ),
    path("resources/<int:pk>/import/", views.assignment_import, name="import"),
    path("resources/<int:pk>/export.csv", views.assignment_export, name="export"),
    path("resources/<int:pk>/drift/", views.drift, name="drift"),
    path("syncs/<int:pk>/", views.run_detail, name="run"),
    path("syncs/<int:pk>/progress.json", views.run_progress, name="run_progress"),
    path(
        "tenants/<int:tenant_pk>/assignments/", views.tenant_assignments, name="tenant_assignments"
    ),
    path("access-check/", views.access_check, name="access_check"),
]
