"""The operator API, /api/v1/. Thin: each view calls the services and selectors the pages call.

Who may do what is the pages' rule (``read_roles`` / ``write_roles``, checked by
``api.auth.RolePermission`` before the view runs); every change is audited by its service, with
the API token named (``api.auth.actor``).
"""

from __future__ import annotations

import csv
import io

from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import (
    action,
    api_view,
    authentication_classes,
    permission_classes,
    schema,
    throttle_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from api import serializers as s
from api.auth import actor
from api.contract import ApiViewSet
from api.filters import AssignmentFilter, AuditEventFilter, SyncRunFilter, TenantFilter
from api.problems import Problem
from assignments import access, imports
from assignments import services as assignment_services
from assignments.models import AcsResource, Assignment, SyncRun
from assignments.selectors import CSV_COLUMNS
from audit import selectors as audit_selectors
from audit.export import csv_stream, jsonl_stream
from audit.models import AuditEvent
from audit.services import record_export
from tenants import lifecycle, verification
from tenants.actions import consent as consent_actions
from tenants.actions import groups as group_actions
from tenants.actions import registration
from tenants.models import ConsentLink, CustomerGroup, CustomerTenant

PROBLEM = OpenApiResponse(
    response=s.ProblemSerializer,
    description="RFC 9457 problem details (application/problem+json); see docs/api.md.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="The ETag of your last GET of this object (428 without it, 412 when stale).",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="A retry with the same key and body returns the first answer.",
)


def _problems(*codes: int) -> dict:
    return {(code, "application/problem+json"): PROBLEM for code in codes}


ERRORS = _problems(400, 401, 403, 404, 406, 429)
WRITE_ERRORS = {**ERRORS, **_problems(405, 409, 410, 415, 422)}
CHANGE_ERRORS = {**WRITE_ERRORS, **_problems(412, 428)}


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _locked(rows, pk):
    """The row ``pk`` of a model or queryset, locked until the transaction ends."""
    queryset = rows.objects.all() if hasattr(rows, "objects") else rows
    return get_object_or_404(queryset.select_for_update(), pk=pk)


# --- tenants ------------------------------------------------------------------------------
@extend_schema(tags=["tenants"])
class TenantViewSet(mixins.ListModelMixin, ApiViewSet):
    queryset = CustomerTenant.objects.all()
    serializer_class = s.TenantSerializer
    filterset_class = TenantFilter

    @extend_schema(responses={200: s.TenantSerializer, **ERRORS})
    def retrieve(self, request, pk=None):
        return self.retrieve_tagged(self.get_object())

    @extend_schema(
        request=s.TenantCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.TenantSerializer, **WRITE_ERRORS},
        summary="Register a tenant by GUID or verified domain",
    )
    def create(self, request):
        data = _valid(s.TenantCreateSerializer, request.data)
        tenant = registration.register_tenant(
            actor=actor(request),
            tenant_ref=data["tenant"],
            display_name=data["display_name"],
            notes=data["notes"],
            offline=data["offline"],
        )
        return self.tagged(tenant, status.HTTP_201_CREATED, {"Location": _url(request, tenant)})

    @extend_schema(
        request=s.TenantUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: s.TenantSerializer, **CHANGE_ERRORS},
        summary="Correct a tenant's display name and notes",
    )
    def partial_update(self, request, pk=None):
        data = _valid(s.TenantUpdateSerializer, request.data)
        with transaction.atomic():
            tenant = _locked(CustomerTenant, pk)
            self.check_if_match(tenant)
            tenant = registration.update_tenant(
                actor=actor(request),
                tenant=tenant,
                display_name=data.get(
                    "display_name", tenant.display_name if tenant.name_from_operator else ""
                ),
                notes=data.get("notes", tenant.notes),
            )
        return self.tagged(tenant)

    @extend_schema(
        parameters=[IF_MATCH],
        responses={204: None, **CHANGE_ERRORS},
        summary="Delete an offboarded tenant (its audit history stays)",
    )
    def destroy(self, request, pk=None):
        with transaction.atomic():
            tenant = _locked(CustomerTenant, pk)
            self.check_if_match(tenant)
            registration.delete_tenant(actor=actor(request), tenant=tenant)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={202: s.TenantSerializer, **WRITE_ERRORS},
        summary="Verify the tenant's consent now",
    )
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        tenant = self.get_object()
        if tenant.status not in lifecycle.VERIFIABLE:
            raise Problem(
                "invalid-transition",
                "Create a consent link first: until the tenant's admin has one, there is no "
                "consent to verify.",
            )
        from tenants.tasks import verify_tenant

        try:
            verify_tenant.delay(tenant.pk, "manual")
        except Exception:  # no broker: check inline, as the page does
            verification.verify_consent(tenant=tenant, actor=actor(request))
            tenant.refresh_from_db()
            return self.tagged(tenant, status.HTTP_200_OK)
        return self.tagged(tenant, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=s.OffboardSerializer,
        responses={200: s.TenantSerializer, **WRITE_ERRORS},
        summary="Offboard: start, then finish once its assignments are gone",
    )
    @action(detail=True, methods=["post"])
    def offboard(self, request, pk=None):
        step = _valid(s.OffboardSerializer, request.data)["step"]
        tenant = self.get_object()
        service = {
            "start": registration.start_offboarding,
            "finish": registration.finish_offboarding,
        }[step]
        return self.tagged(service(actor=actor(request), tenant=tenant))

    @extend_schema(
        methods=["GET"],
        responses={200: s.ConsentLinkSerializer(many=True), **ERRORS},
        summary="The tenant's consent links",
    )
    @extend_schema(
        methods=["POST"],
        request=s.ConsentLinkCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.IssuedLinkSerializer, **WRITE_ERRORS},
        summary="Issue a consent link (its URL is returned once)",
    )
    @action(detail=True, methods=["get", "post"], url_path="consent-links")
    def consent_links(self, request, pk=None):
        tenant = self.get_object()
        if request.method == "GET":
            links = self.paginate_queryset(tenant.consent_links.order_by("-id"))
            return self.get_paginated_response(s.ConsentLinkSerializer(links, many=True).data)
        data = _valid(s.ConsentLinkCreateSerializer, request.data)
        issued = consent_actions.issue_consent_link(
            actor=actor(request),
            tenant=tenant,
            admin_email=data["admin_email"],
            note=data["note"],
            days=data.get("days"),
            version=data["version"],
            level=data.get("level", ""),
        )
        issued.link.url = issued.url
        body = s.IssuedLinkSerializer(issued.link).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(
        methods=["GET"],
        responses={200: s.CustomerGroupSerializer(many=True), **ERRORS},
        summary="The tenant's customer groups",
    )
    @extend_schema(
        methods=["POST"],
        request=s.GroupCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.CustomerGroupSerializer, **WRITE_ERRORS},
        summary="Add a group of a consented tenant (read from Graph)",
    )
    @action(detail=True, methods=["get", "post"])
    def groups(self, request, pk=None):
        tenant = self.get_object()
        if request.method == "GET":
            groups = self.paginate_queryset(tenant.groups.order_by("-id"))
            return self.get_paginated_response(s.CustomerGroupSerializer(groups, many=True).data)
        data = _valid(s.GroupCreateSerializer, request.data)
        group = group_actions.add_customer_group(
            actor=actor(request), tenant=tenant, object_id=str(data["object_id"])
        )
        return Response(s.CustomerGroupSerializer(group).data, status=status.HTTP_201_CREATED)


def _url(request, obj) -> str:
    names = {CustomerTenant: "tenant", Assignment: "assignment", SyncRun: "syncrun"}
    from django.urls import reverse

    return request.build_absolute_uri(reverse(f"api:{names[type(obj)]}-detail", args=[obj.pk]))


# --- consent links and groups -----------------------------------------------------------
@extend_schema(tags=["consent links"])
class ConsentLinkViewSet(ApiViewSet):
    queryset = ConsentLink.objects.select_related("tenant")
    serializer_class = s.ConsentLinkSerializer

    @extend_schema(responses={200: s.ConsentLinkSerializer, **ERRORS})
    def retrieve(self, request, pk=None):
        return self.retrieve_tagged(self.get_object())

    @extend_schema(
        request=None,
        responses={200: s.ConsentLinkSerializer, **WRITE_ERRORS},
        summary="Revoke a consent link (revoking a revoked link changes nothing)",
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        link = consent_actions.revoke_consent_link(actor=actor(request), link=self.get_object())
        return self.tagged(link)


@extend_schema(tags=["customer groups"])
class CustomerGroupViewSet(ApiViewSet):
    queryset = CustomerGroup.objects.all()
    serializer_class = s.CustomerGroupSerializer

    @extend_schema(responses={200: s.CustomerGroupSerializer, **ERRORS})
    def retrieve(self, request, pk=None):
        return self.retrieve_tagged(self.get_object())

    @extend_schema(parameters=[IF_MATCH], responses={204: None, **CHANGE_ERRORS})
    def destroy(self, request, pk=None):
        with transaction.atomic():
            group = _locked(CustomerGroup, pk)
            self.check_if_match(group)
            group_actions.remove_customer_group(actor=actor(request), group=group)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- ACS resources ----------------------------------------------------------------------------
@extend_schema(tags=["ACS resources"])
class AcsResourceViewSet(mixins.ListModelMixin, ApiViewSet):
    queryset = AcsResource.objects.all()
    serializer_class = s.AcsResourceSerializer

    @extend_schema(responses={200: s.AcsResourceSerializer, **ERRORS})
    def retrieve(self, request, pk=None):
        return self.retrieve_tagged(self.get_object())

    @extend_schema(
        request=None,
        responses={200: s.ConnectionTestSerializer, **WRITE_ERRORS},
        summary="Test the connection with the resource's credentials",
    )
    @action(detail=True, methods=["post"], url_path="test-connection")
    def test_connection(self, request, pk=None):
        result = assignment_services.test_resource_connection(
            actor=actor(request), resource=self.get_object()
        )
        return Response(s.ConnectionTestSerializer(result).data)

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: s.SyncRunSerializer, **WRITE_ERRORS},
        summary="Sync now: the resource's queued run, or a new one",
    )
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        run = assignment_services.request_sync(actor=actor(request), resource=self.get_object())
        run.refresh_from_db()
        return Response(
            s.SyncRunSerializer(run).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": _url(request, run)},
        )

    @extend_schema(
        request=s.BulkCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.BulkResultSerializer, **WRITE_ERRORS},
        summary="Add or update up to 10,000 assignments: all or nothing, every bad item listed",
    )
    @action(detail=True, methods=["post"], url_path="assignments/bulk-create")
    def bulk_create(self, request, pk=None):
        resource = self.get_object()
        items = _valid(s.BulkCreateSerializer, request.data)["items"]
        preview = imports.apply_import(
            actor=actor(request), resource=resource, text=_as_csv(items), filename="API bulk create"
        )
        counts = {a: preview.count(a) for a in ("add", "update", "unchanged")}
        return Response(
            {
                "added": counts["add"],
                "updated": counts["update"],
                "unchanged": counts["unchanged"],
                "removed": 0,
            }
        )

    @extend_schema(
        request=s.BulkRemoveSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.BulkResultSerializer, **WRITE_ERRORS},
        summary="Remove up to 10,000 assignments: all or nothing, every bad item listed "
        "(one that is not assigned changes nothing)",
    )
    @action(detail=True, methods=["post"], url_path="assignments/bulk-remove")
    def bulk_remove(self, request, pk=None):
        resource = self.get_object()
        items = _valid(s.BulkRemoveSerializer, request.data)["items"]
        preview = imports.apply_import(
            actor=actor(request),
            resource=resource,
            text=_as_csv(items, desired="absent"),
            filename="API bulk remove",
        )
        return Response(
            {
                "added": 0,
                "updated": 0,
                "unchanged": preview.count("unchanged"),
                "removed": preview.count("remove"),
            }
        )


def _as_csv(items: list[dict], desired: str = "present") -> str:
    """Bulk items in the CSV import's format, so they meet exactly its validation; item ``i``
    is the import's line ``i + 2`` (after the header)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, "desired"])
    for item in items:
        clients = ";".join(item.get("client_ids", []))
        row = [item["principal_type"], item["object_id"], item["tenant_id"], clients, desired]
        writer.writerow(row)
    return out.getvalue()


# --- assignments --------------------------------------------------------------------------
@extend_schema(tags=["assignments"])
class AssignmentViewSet(mixins.ListModelMixin, ApiViewSet):
    queryset = Assignment.objects.select_related("tenant", "resource")
    serializer_class = s.AssignmentSerializer
    filterset_class = AssignmentFilter

    @extend_schema(responses={200: s.AssignmentSerializer, **ERRORS})
    def retrieve(self, request, pk=None):
        return self.retrieve_tagged(self.get_object())

    @extend_schema(
        request=s.AssignmentCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.AssignmentSerializer, **WRITE_ERRORS},
        summary="Assign a user, group or whole tenant on a resource",
    )
    def create(self, request):
        data = _valid(s.AssignmentCreateSerializer, request.data)
        tenant, object_id, name = data["tenant"], data["object_id"], ""
        if data["principal_type"] == "user":
            user = assignment_services.find_user(tenant=tenant, id_or_upn=object_id)
            object_id, name = user.object_id, user.display_name
        assignment = assignment_services.add_assignment(
            actor=actor(request),
            resource=data["resource"],
            tenant=tenant,
            principal_type=data["principal_type"],
            object_id=object_id,
            display_name=name,
            client_ids=[str(c) for c in data["client_ids"]],
            override=data["override"],
        )
        return self.tagged(
            assignment, status.HTTP_201_CREATED, {"Location": _url(request, assignment)}
        )

    @extend_schema(
        request=s.AssignmentUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: s.AssignmentSerializer, **CHANGE_ERRORS},
        summary="Change an assignment's client ids",
    )
    def partial_update(self, request, pk=None):
        data = _valid(s.AssignmentUpdateSerializer, request.data)
        with transaction.atomic():
            current = _locked(Assignment.objects.select_related("tenant", "resource"), pk)
            self.check_if_match(current)
            clients = data.get("client_ids", current.client_ids)
            assignment = assignment_services.update_assignment(
                actor=actor(request), assignment=current, client_ids=[str(c) for c in clients]
            )
        return self.tagged(assignment)

    @extend_schema(
        parameters=[IF_MATCH],
        responses={200: s.AssignmentSerializer, **CHANGE_ERRORS},
        summary="Remove: marked absent; the next sync deletes it on the resource",
    )
    def destroy(self, request, pk=None):
        with transaction.atomic():
            current = _locked(Assignment.objects.select_related("tenant", "resource"), pk)
            self.check_if_match(current)
            assignment = assignment_services.remove_assignment(
                actor=actor(request), assignment=current
            )
        return self.tagged(assignment)


# --- sync runs ----------------------------------------------------------------------------
@extend_schema(tags=["sync runs"])
class SyncRunViewSet(mixins.ListModelMixin, ApiViewSet):
    queryset = SyncRun.objects.all()
    serializer_class = s.SyncRunSerializer
    filterset_class = SyncRunFilter

    @extend_schema(
        responses={200: s.SyncRunSerializer, **ERRORS},
        summary="A run with its live progress and every failure",
    )
    def retrieve(self, request, pk=None):
        return self.retrieve_tagged(self.get_object())


# --- access check -------------------------------------------------------------------------
@extend_schema(tags=["access check"])
class AccessCheckViewSet(ApiViewSet):
    queryset = AcsResource.objects.none()
    serializer_class = s.AccessReportSerializer
    pagination_class = None
    one_object = True  # its "list" answers one report (api.schema)

    @extend_schema(
        parameters=[s.AccessQuerySerializer],
        responses={200: s.AccessReportSerializer, **ERRORS},
        summary="Can this user get an ACS token on this resource? The page's explanation",
        operation_id="access_check",
    )
    def list(self, request):
        data = _valid(s.AccessQuerySerializer, request.query_params)
        report = access.check_access(
            actor=actor(request),
            resource=get_object_or_404(AcsResource, pk=data["resource"]),
            tenant=get_object_or_404(CustomerTenant, pk=data["tenant"]),
            user=data["user"],
        )
        return Response(s.AccessReportSerializer(report).data)


# --- audit events -------------------------------------------------------------------------
AUDIT_FILTERS = [
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Inclusive."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Exclusive."),
    OpenApiParameter("q", OpenApiTypes.STR, description="Part of a target, actor or tenant name."),
    OpenApiParameter("tenant", OpenApiTypes.STR, description="Name, domain or tenant id."),
    OpenApiParameter("action", OpenApiTypes.STR, description="An action, or a group: consent."),
    OpenApiParameter("actor", OpenApiTypes.STR, description="Exact email or label."),
    OpenApiParameter("actor_type", OpenApiTypes.STR, enum=["operator", "customer-admin", "system"]),
    OpenApiParameter("target_type", OpenApiTypes.STR),
    OpenApiParameter("target_id", OpenApiTypes.STR),
    OpenApiParameter("request_id", OpenApiTypes.STR),
    OpenApiParameter("resource", OpenApiTypes.INT, description="An ACS resource's id."),
    OpenApiParameter(
        "ordering", OpenApiTypes.STR, enum=["-at", "at"], description="-at: newest first (default)."
    ),
]
EXPORTS = {
    "csv": (csv_stream, "text/csv; charset=utf-8"),
    "jsonl": (jsonl_stream, "application/jsonl; charset=utf-8"),
}


@extend_schema(tags=["audit events"])
class AuditEventViewSet(ApiViewSet):
    queryset = AuditEvent.objects.all()
    serializer_class = s.AuditEventSerializer
    write_roles = frozenset()  # the log is read-only for everyone, as on its pages
    pagination_class = None
    one_object = True  # its "list" answers one keyset page object (api.schema)

    def _filter(self) -> AuditEventFilter:
        """The pages' FilterSet; unlike the page, a value that does not validate is a 400."""
        flt = AuditEventFilter(self.request.query_params, queryset=AuditEvent.objects.all())
        if not flt.is_valid():
            raise serializers.ValidationError(
                {name: [str(m) for m in messages] for name, messages in flt.errors.items()}
            )
        return flt

    @extend_schema(
        parameters=[
            *AUDIT_FILTERS,
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From `next`/`previous`."),
        ],
        responses={200: s.AuditPageSerializer, **ERRORS},
        summary="Audit events, newest first unless ordering=at, in keyset pages",
        operation_id="audit_events_list",
    )
    def list(self, request):
        flt = self._filter()
        text = request.query_params.get("cursor")
        cursor = audit_selectors.Cursor.decode(text)
        if text and cursor is None:
            raise Problem("validation", "The cursor is not one this API gave.")
        page = audit_selectors.page_events(flt.qs, cursor, newest_first=flt.newest_first)

        def link(value):
            if value is None:
                return None
            return request.build_absolute_uri(
                request.path + "?" + _query(request.query_params, cursor=value)
            )

        return Response(
            {
                "next": link(page.next_cursor),
                "previous": link(page.prev_cursor),
                "results": s.AuditEventListSerializer(page.events, many=True).data,
            }
        )

    @extend_schema(responses={200: s.AuditEventSerializer, **ERRORS})
    def retrieve(self, request, pk=None):
        return self.retrieve_tagged(self.get_object())

    def _export(self, request, format: str):
        flt = self._filter()
        render_rows, content_type = EXPORTS[format]
        record_export(actor=actor(request), filters=flt.clean_params(), format=format)
        response = StreamingHttpResponse(
            render_rows(audit_selectors.export_rows(flt.qs, oldest_first=not flt.newest_first)),
            content_type=content_type,
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"audit-{stamp}.{format}"
        )
        return response

    @extend_schema(
        parameters=AUDIT_FILTERS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Streamed CSV."),
            **ERRORS,
        },
        summary="Export the matching events as CSV (streamed; the export is audited)",
    )
    @action(detail=False, methods=["get"], url_path="export.csv")
    def export_csv(self, request):
        return self._export(request, "csv")

    @extend_schema(
        parameters=AUDIT_FILTERS,
        responses={
            (200, "application/jsonl"): OpenApiResponse(
                OpenApiTypes.STR, description="One JSON object per line, streamed."
            ),
            **ERRORS,
        },
        summary="Export the matching events as JSON lines (streamed; the export is audited)",
    )
    @action(detail=False, methods=["get"], url_path="export.jsonl")
    def export_jsonl(self, request):
        return self._export(request, "jsonl")


def _query(params, **changes) -> str:
    query = params.copy()
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@permission_classes([AllowAny])
@authentication_classes([])
@throttle_classes([])
@schema(None)
def not_found(request, rest=""):
    """Any other path under /api/v1/: a problem, not the pages' HTML 404."""
    raise Problem("not-found", "No such API path (paths end with a slash; see /api/v1/docs/).")


not_found.portal_public = True
