"""Dashboard and operator management."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from assignments.models import AcsResource, Assignment, SyncState
from audit import reports as audit_reports
from audit.models import AuditEvent
from audit.services import Actor
from portal.filters import OperatorFilter
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
    """Counts that are links: each tile opens the list it counts, filtered to those rows."""
    tenant_counts = dict(
        CustomerTenant.objects.order_by().values_list("status").annotate(n=Count("id"))
    )
    state_counts = dict(
        Assignment.objects.order_by().values_list("sync_state").annotate(n=Count("id"))
    )
    resources = list(AcsResource.objects.order_by("pk").values_list("pk", flat=True)[:2])
    # Assignments are listed per resource: with one resource its list is the whole list.
    only_resource = resources[0] if len(resources) == 1 else None
    context = {
        "attention": [
            {
                "label": "need attention",
                "count": tenant_counts.get(TenantStatus.ATTENTION, 0),
                "query": {"status": TenantStatus.ATTENTION},
                "css": "status-attention",
            },
            {
                "label": "waiting for consent",
                "count": tenant_counts.get(TenantStatus.INVITED, 0),
                "query": {"status": TenantStatus.INVITED},
                "css": "status-invited",
            },
        ],
        "tenant_counts": [
            {"status": value, "label": label, "count": tenant_counts[value]}
            for value, label in TenantStatus.choices
            if value in tenant_counts
        ],
        "assignment_counts": [
            {"sync_state": value, "label": label, "count": state_counts[value]}
            for value, label in SyncState.choices
            if value in state_counts
        ],
        "only_resource": only_resource,
        "recent_events": AuditEvent.objects.defer("details").select_related("tenant")[:10],
        "sync_counts": audit_reports.sync_run_counts(),
        "onboarding_chart": audit_reports.onboarding_chart(),
        "sync_chart": audit_reports.sync_chart(),
    }
    return render(request, "portal/dashboard.html", context)


INVITED_KEY = "portal:invited_operator"


def _change_email(request, actor: Actor) -> None:
    form = ChangeEmailForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a valid email address."))
        return
    try:
        user = request_operator_email_change(actor=actor, request=request, **form.cleaned_data)
    except (OperatorError, User.DoesNotExist) as exc:
        messages.error(request, str(exc) or _("No such operator."))
        return
    messages.success(
        request,
        _(
            "A confirmation link went to %(new)s; %(old)s stays the sign-in address until it "
            "is opened."
        )
        % {"new": form.cleaned_data["email"], "old": user.email},
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
                    messages.success(
                        request,
                        _("%(email)s is now %(role)s.")
                        % {"email": user.email, "role": user.get_role_display()},
                    )
                except (OperatorError, User.DoesNotExist) as exc:
                    messages.error(request, str(exc) or _("No such operator."))
                return redirect("operators")
            messages.error(request, _("Choose a valid role."))
    filters = OperatorFilter(request.GET or None, queryset=User.objects.all())
    filters.form.auto_id = "filter_%s"  # the invite form below has its own "role"
    return render(
        request,
        "portal/operators.html",
        {
            "operators": filters.qs,
            "filter_form": filters.form,
            "filtered": any(v for k, v in request.GET.items() if k != "ordering"),
            "roles": Role.choices,
            "invite_form": invite_form,
            "invited": request.session.pop(INVITED_KEY, None),
        },
    )
