"""Dashboard and operator management."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import redirect, render

from assignments.models import Assignment, SyncState
from audit import reports as audit_reports
from audit.models import AuditEvent
from audit.services import Actor
from portal.forms import ChangeEmailForm, ChangeRoleForm, InviteOperatorForm
from portal.models import Role, User
from portal.roles import ADMINS, ALL_ROLES, require_role
from portal.services import (
    OperatorError,
    change_operator_role,
    create_operator,
    request_operator_email_change,
)
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


def _change_email(request, actor: Actor) -> None:
    form = ChangeEmailForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a valid email address.")
        return
    try:
        user = request_operator_email_change(actor=actor, request=request, **form.cleaned_data)
    except (OperatorError, User.DoesNotExist) as exc:
        messages.error(request, str(exc) or "No such operator.")
        return
    messages.success(
        request,
        f"A confirmation link went to {form.cleaned_data['email']}; {user.email} stays the "
        "sign-in address until it is opened.",
    )


@require_role(read=ALL_ROLES, write=frozenset())
def own_email(request):
    """Replaces allauth's email page: nobody changes their own sign-in address (it is the login,
    the audit label and the Microsoft sign-in match); admins change it on the Operators page."""
    return render(request, "portal/own_email.html")


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
        elif "change_email" in request.POST:
            _change_email(request, actor)
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
