from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("audit/", views.log, name="log"),
    path("reports/", views.reports_index, name="reports"),
    path("audit/events/<id:pk>/", views.event, name="event"),
    path("audit/export.csv", views.export_csv, name="export_csv"),
    path("audit/export.jsonl", views.export_jsonl, name="export_jsonl"),
    path("audit/tenants/<id:pk>/report/", views.tenant_report, name="tenant_report"),
    path("audit/tenants/<id:pk>/timeline/", views.tenant_timeline, name="tenant_timeline"),
    path("audit/resources/<id:pk>/sync/", views.resource_history, name="resource_history"),
]
