"""Every audit action, in one list. Services name their action from here."""

from django.db import models


class Action(models.TextChoices):
    OPERATOR_CREATED = "operator.created", "Operator created"
    OPERATOR_ROLE_CHANGED = "operator.role_changed", "Operator role changed"
    OPERATOR_EMAIL_CHANGE_REQUESTED = (
        "operator.email_change_requested",
        "Operator email change requested",
    )
    OPERATOR_EMAIL_CHANGED = "operator.email_changed", "Operator email changed"
    OPERATOR_SIGNED_IN = "operator.signed_in", "Operator signed in"
    OPERATOR_SIGN_IN_FAILED = "operator.sign_in_failed", "Operator sign-in failed"
    OPERATOR_SIGN_IN_LOCKED = "operator.sign_in_locked", "Sign-in locked for an address"
    OPERATOR_SIGN_IN_REFUSED = "operator.sign_in_refused", "Microsoft sign-in refused"
    TENANT_CREATED = "tenant.created", "Tenant registered"
    TENANT_UPDATED = "tenant.updated", "Tenant updated"
    TENANT_STATUS_CHANGED = "tenant.status_changed", "Tenant status changed"
    TENANT_DELETED = "tenant.deleted", "Tenant removed"
    PREFLIGHT_RUN = "preflight.run", "Home preflight run"
    PREFLIGHT_ACS_SP_CREATED = (
        "preflight.acs_clients_sp_created",
        "ACS Clients service principal created",
    )
    CONSENT_LINK_CREATED = "consent.link_created", "Consent link created"
    CONSENT_LINK_EMAILED = "consent.link_emailed", "Consent link emailed"
    CONSENT_LINK_REVOKED = "consent.link_revoked", "Consent link revoked"
    CONSENT_LINK_OPENED = "consent.link_opened", "Consent link opened"
    CONSENT_REDIRECTED = "consent.redirected", "Customer admin sent to Microsoft"
    CONSENT_GRANTED = "consent.granted", "Admin consent granted"
    CONSENT_DECLINED = "consent.declined", "Admin consent declined"
    CONSENT_FAILED = "consent.failed", "Admin consent failed"
    CONSENT_CALLBACK_REJECTED = "consent.callback_rejected", "Consent callback rejected"
    CONSENT_VERIFIED = "consent.verified", "Consent verified"
    CONSENT_CHECK_FAILED = "consent.check_failed", "Consent check failed"
    CONSENT_CHECK_UNKNOWN = "consent.check_unknown", "Consent check inconclusive"
    CONSENT_REVOKED = "consent.revoked", "Consent revoked in the tenant"
    CONSENT_USER_TESTED = "consent.user_tested", "Consent tested with a customer user"
    GROUP_ADDED = "group.added", "Customer group added"
    GROUP_REMOVED = "group.removed", "Customer group removed"
    RESOURCE_CREATED = "resource.created", "ACS resource created"
    RESOURCE_UPDATED = "resource.updated", "ACS resource updated"
    RESOURCE_TESTED = "resource.tested", "ACS resource connection tested"
    ASSIGNMENT_ADDED = "assignment.added", "Assignment added"
    ASSIGNMENT_UPDATED = "assignment.updated", "Assignment updated"
    ASSIGNMENT_REMOVED = "assignment.removed", "Assignment removed"
    ASSIGNMENT_IMPORTED = "assignment.imported", "Assignments imported"
    ASSIGNMENT_OVERRIDE = "assignment.override", "Assignment to unverified tenant"
    DRIFT_ADOPTED = "drift.adopted", "Remote assignment adopted"
    DRIFT_REMOVED = "drift.removed", "Remote assignment removed"
    SYNC_QUEUED = "sync.queued", "Sync queued"
    SYNC_STARTED = "sync.started", "Sync started"
    SYNC_FINISHED = "sync.finished", "Sync finished"
    ACCESS_CHECKED = "access.checked", "Access checked"
    AUDIT_EXPORTED = "audit.exported", "Audit log exported"
    AUDIT_RETENTION_APPLIED = "audit.retention_applied", "Audit retention applied"
    # Notifications (issue 15)
    CONSENT_LINK_EXPIRING = "consent.link_expiring", "Consent link expiring unanswered"
    CONSENT_REMINDER_SENT = "consent.reminder_sent", "Consent reminder sent"
    CONSENT_REMINDERS_STOPPED = "consent.reminders_stopped", "Consent reminders stopped"
    CREDENTIAL_EXPIRING = "operator.credential_expiring", "Operator app credential expiring"
    NOTIFY_PREFERENCES_SAVED = "notify.preferences_saved", "Notification preferences saved"
    NOTIFY_DELIVERED = "notify.delivered", "Notification delivered"
    NOTIFY_ATTEMPT_FAILED = "notify.attempt_failed", "Notification attempt failed"
    NOTIFY_FAILED = "notify.failed", "Notification failed"
    NOTIFY_REDELIVERY = "notify.redelivery_requested", "Notification redelivery requested"
    WEBHOOK_CREATED = "webhook.created", "Webhook endpoint added"
    WEBHOOK_UPDATED = "webhook.updated", "Webhook endpoint updated"
    WEBHOOK_DELETED = "webhook.deleted", "Webhook endpoint removed"
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated", "Webhook secret rotated"
    WEBHOOK_PING_SENT = "webhook.ping_queued", "Webhook test ping queued"
    WEBHOOK_DISABLED = "webhook.disabled", "Webhook endpoint disabled after failures"
