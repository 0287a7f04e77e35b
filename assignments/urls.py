from django.urls import path

from assignments import views

app_name = "assignments"
urlpatterns = [
    path("resources/", views.resources, name="resources"),
    path("resources/add/", views.resource_create, name="resource_create"),
    path("resources/<id:pk>/", views.resource_detail, name="resource"),
    path("resources/<id:pk>/edit/", views.resource_edit, name="resource_edit"),
    path("resources/<id:pk>/assignments/", views.resource_assignments, name="resource_assignments"),
    path("resources/<id:pk>/assignments/add/", views.assignment_add, name="assignment_add"),
    path(
        "resources/<id:pk>/assignments/<id:assignment_pk>/edit/",
        views.assignment_edit,
        name="assignment_edit",
    ),
    path(
        "resources/<id:pk>/assignments/<id:assignment_pk>/remove/",
        views.assignment_remove,
        name="assignment_remove",
    ),
    path("resources/<id:pk>/import/", views.assignment_import, name="import"),
    path("resources/<id:pk>/export.csv", views.assignment_export, name="export"),
    path("resources/<id:pk>/drift/", views.drift, name="drift"),
    path("syncs/<id:pk>/", views.run_detail, name="run"),
    path("syncs/<id:pk>/progress.json", views.run_progress, name="run_progress"),
    path(
        "tenants/<id:tenant_pk>/assignments/", views.tenant_assignments, name="tenant_assignments"
    ),
    path("assignments/add/", views.assignment_add, name="assign"),
    path("syncs/", views.runs, name="runs"),
    path("resources/<id:pk>/syncs/", views.runs, name="resource_runs"),
    path("resources/<id:pk>/connect/", views.connect, name="connect"),
    path("syncs/<id:pk>/retry-failed/", views.run_retry_failed, name="run_retry_failed"),
    path("access-check/", views.access_check, name="access_check"),
]
