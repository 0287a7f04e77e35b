"""Representations of the API (output) and the shapes of its requests (input).

Timestamps are RFC 3339 in UTC (``2026-12-01T13:00:00.123456Z``).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.models import ApiToken
from assignments.imports import MAX_ROWS
from assignments.models import AcsResource, Assignment, PrincipalType, SyncRun
from audit.models import AuditEvent
from audit.selectors import EXPORT_COLUMNS
from tenants.models import ConsentCheck, ConsentLink, CustomerGroup, CustomerTenant

BULK_MAX = 10_000
assert BULK_MAX <= MAX_ROWS


class ProblemErrorSerializer(serializers.Serializer):
    field = serializers.CharField(required=False, allow_null=True)
    index = serializers.IntegerField(required=False, help_text="The bulk item's position.")
    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details; ``type`` is stable per error (docs/api.md)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField(allow_null=True)
    errors = ProblemErrorSerializer(many=True, required=False)
    reason = serializers.CharField(required=False)
    retry_after = serializers.IntegerField(required=False)
    request_id = serializers.CharField(required=False)


# --- tenants ------------------------------------------------------------------------------
class CheckSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentCheck
        fields = ["id", "at", "trigger", "level", "ok", "unknown", "findings"]


class TenantSerializer(serializers.ModelSerializer):
    latest_check = serializers.SerializerMethodField()

    class Meta:
        model = CustomerTenant
        fields = [
            "id",
            "tenant_id",
            "display_name",
            "primary_domain",
            "verified_domains",
            "status",
            "verification_level",
            "is_home",
            "notes",
            "created_at",
            "updated_at",
            "status_changed_at",
            "last_verified_at",
            "latest_check",
        ]

    @extend_schema_field(CheckSerializer(allow_null=True))
    def get_latest_check(self, tenant) -> dict | None:
        check = tenant.checks.first()
        return CheckSerializer(check).data if check else None


class TenantCreateSerializer(serializers.Serializer):
    tenant = serializers.CharField(
        max_length=256, help_text="The tenant id (GUID) or one of its verified domains."
    )
    display_name = serializers.CharField(max_length=256, required=False, default="")
    notes = serializers.CharField(max_length=5000, required=False, default="")
    offline = serializers.BooleanField(
        required=False, default=False, help_text="Take a GUID as given, without asking Entra ID."
    )


class TenantUpdateSerializer(serializers.Serializer):
    display_name = serializers.CharField(
        max_length=256, required=False, allow_blank=True, help_text="Empty: Graph's name."
    )
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class OffboardSerializer(serializers.Serializer):
    step = serializers.ChoiceField(
        choices=["start", "finish"],
        help_text="start: revoke links, remove assignments; finish: once all are removed.",
    )


# --- consent links ------------------------------------------------------------------------
class ConsentLinkSerializer(serializers.ModelSerializer):
    level = serializers.CharField(source="verification_level")
    version = serializers.CharField(source="consent_version")
    unavailable_reason = serializers.CharField(
        help_text="revoked, used or expired; empty while the link can be used."
    )

    class Meta:
        model = ConsentLink
        fields = [
            "id",
            "tenant",
            "admin_email",
            "note",
            "version",
            "level",
            "created_at",
            "expires_at",
            "opened_at",
            "used_at",
            "revoked_at",
            "outcome",
            "error_code",
            "unavailable_reason",
        ]


class IssuedLinkSerializer(ConsentLinkSerializer):
    url = serializers.URLField(help_text="The link to send; returned once, only here.")

    class Meta(ConsentLinkSerializer.Meta):
        fields = [*ConsentLinkSerializer.Meta.fields, "url"]


class ConsentLinkCreateSerializer(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=["standard", "deep"], required=False, help_text="Default: the portal's."
    )
    days = serializers.IntegerField(min_value=1, max_value=90, required=False)
    admin_email = serializers.EmailField(required=False, default="")
    note = serializers.CharField(max_length=500, required=False, default="")
    version = serializers.ChoiceField(choices=["v1", "v2"], required=False, default="v1")


# --- groups -------------------------------------------------------------------------------
class CustomerGroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerGroup
        fields = ["id", "tenant", "object_id", "display_name", "last_seen_at", "created_at"]


class GroupCreateSerializer(serializers.Serializer):
    object_id = serializers.UUIDField(help_text="The group's object id in the tenant.")


# --- ACS resources and assignments ----------------------------------------------------
class AcsResourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = AcsResource
        fields = [
            "id",
            "name",
            "endpoint",
            "auth_method",
            "enabled",
            "created_at",
            "updated_at",
            "sync_requested_at",
        ]


class ConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class AssignmentSerializer(serializers.ModelSerializer):
    tenant_id = serializers.UUIDField(source="tenant.tenant_id", read_only=True)
    client_ids = serializers.ListField(child=serializers.UUIDField())

    class Meta:
        model = Assignment
        fields = [
            "id",
            "resource",
            "tenant",
            "tenant_id",
            "principal_type",
            "object_id",
            "display_name",
            "client_ids",
            "desired",
            "sync_state",
            "adopted",
            "override_unverified",
            "last_synced_at",
            "last_error",
            "created_at",
            "updated_at",
        ]


class AssignmentCreateSerializer(serializers.Serializer):
    resource = serializers.PrimaryKeyRelatedField(queryset=AcsResource.objects.all())
    tenant = serializers.PrimaryKeyRelatedField(queryset=CustomerTenant.objects.all())
    principal_type = serializers.ChoiceField(choices=PrincipalType.choices)
    object_id = serializers.CharField(
        max_length=256,
        required=False,
        default="",
        help_text="User or group object id; a user's UPN is looked up in Graph; "
        "empty for a tenant-wide assignment.",
    )
    client_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        default=list,
        max_length=50,
        help_text="Empty: the operator app.",
    )
    override = serializers.BooleanField(
        required=False, default=False, help_text="Assign a tenant that is not verified yet."
    )


class AssignmentUpdateSerializer(serializers.Serializer):
    client_ids = serializers.ListField(
        child=serializers.UUIDField(),
        max_length=50,
        required=False,
        help_text="Empty: the operator app.",
    )


class BulkRemoveItemSerializer(serializers.Serializer):
    principal_type = serializers.ChoiceField(choices=PrincipalType.choices)
    tenant_id = serializers.CharField(max_length=64, help_text="The Entra tenant id (GUID).")
    object_id = serializers.CharField(max_length=256, required=False, default="")


class BulkItemSerializer(BulkRemoveItemSerializer):
    client_ids = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list, max_length=50
    )


class BulkCreateSerializer(serializers.Serializer):
    items = serializers.ListField(child=BulkItemSerializer(), min_length=1, max_length=BULK_MAX)


class BulkRemoveSerializer(serializers.Serializer):
    items = serializers.ListField(
        child=BulkRemoveItemSerializer(), min_length=1, max_length=BULK_MAX
    )


class BulkResultSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    removed = serializers.IntegerField()


# --- sync runs ----------------------------------------------------------------------------
class SyncRunSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True)
    wait = serializers.CharField(source="wait_text", read_only=True)
    errors = serializers.JSONField(help_text="Every failure with its reason.")

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "resource",
            "trigger",
            "status",
            "queued_at",
            "started_at",
            "finished_at",
            "planned",
            "done",
            "progress_percent",
            "created",
            "updated",
            "deleted",
            "unchanged",
            "failed",
            "drift",
            "restored",
            "errors",
            "message",
            "waiting_until",
            "wait",
        ]


# --- access check -------------------------------------------------------------------------
class FindingSerializer(serializers.Serializer):
    check = serializers.CharField()
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class AccessQuerySerializer(serializers.Serializer):
    resource = serializers.IntegerField(min_value=1, help_text="The ACS resource's id.")
    tenant = serializers.IntegerField(min_value=1, help_text="The tenant's id (not its GUID).")
    user = serializers.CharField(max_length=256, help_text="The user's object id or UPN.")


class AccessReportSerializer(serializers.Serializer):
    resource = serializers.IntegerField(source="resource.pk")
    tenant = serializers.IntegerField(source="tenant.pk")
    user = serializers.CharField(source="query")
    user_id = serializers.CharField()
    user_name = serializers.CharField()
    has_access = serializers.BooleanField()
    findings = FindingSerializer(many=True)
    granting = serializers.SerializerMethodField()

    def get_granting(self, report) -> list[int]:
        return [a.pk for a in report.granting]


# --- audit --------------------------------------------------------------------------------
class AuditEventSerializer(serializers.ModelSerializer):
    """An event with the audit export's columns: ``tenant_id`` is the Entra tenant id (GUID),
    ``tenant_name`` the tenant's name now, or the label recorded with the event once the
    tenant is no longer registered (events outlive their tenants)."""

    details = serializers.JSONField(required=False)
    action_label = serializers.CharField(source="get_action_display", read_only=True)
    tenant_id = serializers.SerializerMethodField()
    tenant_name = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = list(EXPORT_COLUMNS)

    @staticmethod
    def _tenant(event: AuditEvent) -> CustomerTenant | None:
        try:
            return event.tenant
        except CustomerTenant.DoesNotExist:  # deleted after the event: the id dangles
            return None

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_tenant_id(self, event: AuditEvent):
        tenant = self._tenant(event)
        return tenant.tenant_id if tenant else None

    @extend_schema_field(serializers.CharField())
    def get_tenant_name(self, event: AuditEvent) -> str:
        tenant = self._tenant(event)
        if tenant is not None and (tenant.display_name or tenant.primary_domain):
            return tenant.display_name or tenant.primary_domain
        return event.tenant_label


class AuditEventListSerializer(AuditEventSerializer):
    """A row of the list: the details come with the single event (as on the pages)."""

    class Meta(AuditEventSerializer.Meta):
        fields = [f for f in AuditEventSerializer.Meta.fields if f != "details"]


class AuditPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AuditEventListSerializer(many=True)


# --- tokens -------------------------------------------------------------------------------
class ApiTokenSerializer(serializers.ModelSerializer):
    owner = serializers.EmailField(source="owner.email")
    state = serializers.CharField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "owner",
            "scope",
            "state",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "last_used_ip",
        ]
