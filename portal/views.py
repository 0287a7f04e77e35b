"""Dashboard and operator management."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import redirect, render

from assignments.models import Assignment, SyncState
from audit import reports as audit_reports
from audit.models import AuditEvent
from audit.services import Actor
from portal.forms import ChangeRoleForm, InviteOperatorForm
from portal.models import Role, User
from portal.roles import ADMINS, require_role
from portal.services import OperatorError, change_operator_role, create_operator
from tenants.models import CustomerTenant, TenantStatus


@require_role()
def dashboard(request):
    tenant_rows = CustomerTenant.objects.values("status").annotate(count=Count("id"))
    labels = dict(TenantStatus.choices)
    state_labels = dict(SyncState.choices)
    assignment_rows = Assignment.objects.values("sync_state").annotate(count=Count("id"))
    context = {
        "tenant_counts": [
            {
                "status": r["status"],
                "label": labels.get(r["status"], r["status"]),
                "count": r["count"],
            }
            for r in tenant_rows.order_by("status")
        ],
        "assignment_counts": [
            {
                "sync_state": r["sync_state"],
                "label": state_labels.get(r["sync_state"], r["sync_state"]),
                "count": r["count"],
            }
            for r in assignment_rows.order_by("sync_state")
        ],
        "recent_events": AuditEvent.objects.defer("details")[:10],
        "sync_counts": audit_reports.sync_run_counts(),
        "onboarding_chart": audit_reports.onboarding_chart(),
        "sync_chart": audit_reports.sync_chart(),
    }
    return render(request, "portal/dashboard.html", context)


INVITED_KEY = "portal:invited_operator"


@require_role(read=ADMINS, write=ADMINS)
def operators(request):
    invite_form = InviteOperatorForm()
    if request.method == "POST":
        actor = Actor.from_request(request)
        if "invite" in request.POST:
            invite_form = InviteOperatorForm(request.POST)
            if invite_form.is_valid():
                try:
                    user, password = create_operator(actor=actor, **invite_form.cleaned_data)
                except OperatorError as exc:
                    invite_form.add_error("email", str(exc))
                else:
                    # In the server-side session, shown once by the next page: the messages
                    # cookie would carry the password to the browser and back in clear.
                    request.session[INVITED_KEY] = {"email": user.email, "password": password}
                    return redirect("operators")
        else:
            form = ChangeRoleForm(request.POST)
            if form.is_valid():
                try:
                    user = change_operator_role(actor=actor, **form.cleaned_data)
                    messages.success(request, f"{user.email} is now {user.get_role_display()}.")
                except (OperatorError, User.DoesNotExist) as exc:
                    messages.error(request, str(exc) or "No such operator.")
                return redirect("operators")
            messages.error(request, "Choose a valid role.")
    return render(
        request,
        "portal/operators.html",
        {
            "operators": User.objects.all(),
            "roles": Role.choices,
            "invite_form": invite_form,
            "invited": request.session.pop(INVITED_KEY, None),
        },
    )
