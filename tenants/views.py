"""Operator pages: tenant list, registration, detail (findings, links, groups), home preflight."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import AuditEvent
from audit.services import Actor
from portal.lists import list_context
from portal.roles import WRITERS, require_role
from tenants import graph, lifecycle, verification
from tenants.actions import consent, groups, registration
from tenants.errors import TenantError
from tenants.filters import TenantFilter
from tenants.forms import (
    ConsentLinkForm,
    GroupAddForm,
    TenantCreateForm,
    TenantEditForm,
)
from tenants.models import (
    ConsentLink,
    CustomerGroup,
    CustomerTenant,
    TenantStatus,
    VerificationLevel,
)

TENANTS_PER_PAGE = 50


@require_role()
def tenant_list(request):
    """Tenants, searched, filtered, sorted and paged (a portal may hold thousands), with how
    many of the searched tenants are in each status."""
    context = list_context(
        request,
        TenantFilter,
        CustomerTenant.objects.all(),
        facet="status",
        choices=TenantStatus.choices,
        per_page=TENANTS_PER_PAGE,
    )
    return render(request, "tenants/list.html", context | {"tenants": context["page"].object_list})


@require_role(read=WRITERS)  # the form is for those who may save it
def tenant_create(request):
    form = TenantCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = registration.register_tenant(
                actor=Actor.from_request(request), **form.cleaned_data
            )
        except TenantError as error:
            form.add_error("tenant_ref", str(error))
        else:
            messages.success(
                request,
                _("%(tenant)s registered. Next: create a consent link.") % {"tenant": tenant},
            )
            return redirect("tenants:detail", pk=tenant.pk)
    return render(request, "tenants/create.html", {"form": form})


def _detail_context(request, tenant: CustomerTenant) -> dict:
    group_query = request.GET.get("group_q", "").strip()[:100]
    group_results, group_error = [], ""
    can_pick = (
        tenant.status in lifecycle.CONSENTING
        and tenant.verification_level != VerificationLevel.STANDARD
    )
    if group_query and can_pick:
        try:
            group_results = graph.search_groups(tenant_id=str(tenant.tenant_id), query=group_query)
        except graph.GraphError as error:
            group_error = f"Graph could not search groups: {error.message}"
    return {
        "tenant": tenant,
        "latest_check": tenant.checks.first(),
        "last_user_test": tenant.user_tests.first(),
        "checks": tenant.checks.all()[:10],
        "links": tenant.consent_links.all()[:20],
        "groups": tenant.groups.all(),
        "events": AuditEvent.objects.filter(tenant=tenant)
        .defer("details")
        .order_by("-at", "-id")[:50],
        "link_form": ConsentLinkForm(),
        "group_query": group_query,
        "group_results": group_results,
        "group_error": group_error,
        "can_pick_groups": can_pick,
        "can_verify": tenant.status in lifecycle.VERIFIABLE,
        "standard_no_graph": groups.STANDARD_NO_GRAPH
        if tenant.verification_level == VerificationLevel.STANDARD
        else "",
        "not_checked": verification.NOT_CHECKED_AT_STANDARD
        if tenant.verification_level == VerificationLevel.STANDARD
        else (),
    }


@require_role()
def tenant_detail(request, pk: int):
    tenant = get_object_or_404(CustomerTenant, pk=pk)
    return render(request, "tenants/detail.html", _detail_context(request, tenant))


@require_role(read=WRITERS)  # the form is for those who may save it
def tenant_edit(request, pk: int):
    tenant = get_object_or_404(CustomerTenant, pk=pk)
    initial = {"display_name": tenant.display_name if tenant.name_from_operator else ""}
    form = TenantEditForm(request.POST or None, initial=initial | {"notes": tenant.notes})
    if request.method == "POST" and form.is_valid():
        tenant = registration.update_tenant(
            actor=Actor.from_request(request), tenant=tenant, **form.cleaned_data
        )
        messages.success(request, _("%(tenant)s saved.") % {"tenant": tenant})
        return redirect("tenants:detail", pk=tenant.pk)
    return render(request, "tenants/edit.html", {"tenant": tenant, "form": form})


@require_role(read=WRITERS)
def tenant_offboard(request, pk: int):
    """Offboarding: start it, watch the assignments go, finish, then delete (each a POST)."""
    tenant = get_object_or_404(CustomerTenant, pk=pk)
    if request.method == "POST":
        step, actor = request.POST.get("step", ""), Actor.from_request(request)
        steps = {
            "start": registration.start_offboarding,
            "finish": registration.finish_offboarding,
            "delete": registration.delete_tenant,
        }
        if step not in steps:
            messages.error(request, _("Choose an offboarding step."))
            return redirect("tenants:offboard", pk=pk)
        try:
            steps[step](actor=actor, tenant=tenant)
        except TenantError as error:
            messages.error(request, str(error))
            return redirect("tenants:offboard", pk=pk)
        if step == "delete":
            messages.success(
                request, _("%(tenant)s deleted; its audit history stays.") % {"tenant": tenant}
            )
            return redirect("tenants:list")
        return redirect("tenants:offboard", pk=pk)
    from assignments.models import Assignment

    left = Assignment.objects.filter(tenant=tenant).select_related("resource")
    return render(
        request,
        "tenants/offboard.html",
        {
            "tenant": tenant,
            "left": left,
            "left_count": len(left),
            "operator": settings.OPERATOR_NAME,
            "app_id": settings.ENTRA_CLIENT_ID,
        },
    )


@require_role()
def tenant_status(request, pk: int):
    """Polled by the tenant page: reload once the status or the latest check changes."""
    tenant = get_object_or_404(CustomerTenant, pk=pk)
    latest = tenant.checks.values_list("pk", flat=True).first() or 0
    changed = request.GET.get("status") != tenant.status or request.GET.get("check") != str(latest)
    return JsonResponse(
        {
            "fields": {"status": tenant.get_status_display()},
            "status": tenant.status,
            "check": latest,
            "done": changed,
            "reload": changed,
        }
    )


@require_role()
def offboarding_progress(request, pk: int):
    """Polled by the offboarding page while it is in progress: the assignments still to remove;
    the page reloads once that count or the status changes."""
    tenant = get_object_or_404(CustomerTenant, pk=pk)
    left = registration.offboarding_left(tenant)
    changed = request.GET.get("status") != tenant.status or request.GET.get("left") != str(left)
    return JsonResponse(
        {
            "fields": {"status": tenant.get_status_display(), "left": left},
            "status": tenant.status,
            "left": left,
            "done": changed,
            "reload": changed,
        }
    )


@require_role()
@require_POST
def tenant_verify(request, pk: int):
    tenant = get_object_or_404(CustomerTenant, pk=pk)
    from tenants.tasks import verify_tenant

    if tenant.status not in lifecycle.VERIFIABLE:
        messages.error(
            request,
            _(
                "Create a consent link first: until the tenant's admin has one, there is no "
                "consent to verify."
            ),
        )
        return redirect("tenants:detail", pk=tenant.pk)
    try:
        actor = Actor.from_request(request)  # the audit event is the clicking operator's
        verify_tenant.delay(tenant.pk, "manual", 0, request.user.pk, actor.ip)
    except Exception:  # no broker: check inline so the button still works
        verification.verify_consent(tenant=tenant, actor=Actor.from_request(request))
        messages.info(request, _("Checked now (the task queue is unavailable)."))
    else:
        messages.info(request, _("Verification queued; this page updates when it finishes."))
    return redirect("tenants:detail", pk=tenant.pk)


# The token of a link just issued waits here for the one page that shows it (POST-redirect-GET):
# the page takes it out, so a reload shows the link's facts but neither the token nor a new link.
SHOWN_LINK_KEY = "tenants.link_to_show"


def _link_created(request, issued, *, emailed_to: str = ""):
    request.session[SHOWN_LINK_KEY] = {
        "link": issued.link.pk,
        "token": issued.token,
        "emailed_to": emailed_to,
    }
    return redirect("tenants:link_created", pk=issued.link.tenant_id, link_pk=issued.link.pk)


def _back_to_tenant(request, pk: int):
    """A GET of a form's address (bookmark, Back): the tenant page, never a bare 405."""
    get_object_or_404(CustomerTenant, pk=pk)
    return redirect("tenants:detail", pk=pk)


@require_role()
def link_created(request, pk: int, link_pk: int):
    link = _get_link(pk, link_pk)
    pending = request.session.get(SHOWN_LINK_KEY)
    token, emailed_to = "", ""
    if isinstance(pending, dict) and pending.get("link") == link.pk:
        del request.session[SHOWN_LINK_KEY]
        token, emailed_to = str(pending.get("token", "")), str(pending.get("emailed_to", ""))
    issued = consent.IssuedLink(link=link, token=token) if token else None
    response = render(
        request,
        "tenants/link_created.html",
        {
            "tenant": link.tenant,
            "link": link,
            "issued": issued,
            "url": issued.url if issued else "",
            "emailed_to": emailed_to,
        },
    )
    response["Cache-Control"] = "no-store"  # the token must not come back from a cache
    return response


@require_role()
@require_http_methods(["GET", "POST"])
def link_create(request, pk: int):
    if request.method == "GET":
        return _back_to_tenant(request, pk)
    tenant = get_object_or_404(CustomerTenant, pk=pk)
    form = ConsentLinkForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, tenant) | {"link_form": form}
        return render(request, "tenants/detail.html", context, status=400)
    actor, data = Actor.from_request(request), form.cleaned_data
    issued = consent.issue_consent_link(
        actor=actor,
        tenant=tenant,
        admin_email=data["admin_email"],
        note=data["note"],
        days=data["days"],
        version=data["version"],
        level=data["level"],
    )
    emailed_to = ""
    if data["send_email"]:
        emailed_to = consent.email_consent_link(actor=actor, link=issued.link, token=issued.token)
    return _link_created(request, issued, emailed_to=emailed_to)


def _get_link(tenant_pk: int, link_pk: int) -> ConsentLink:
    return get_object_or_404(
        ConsentLink.objects.select_related("tenant"), pk=link_pk, tenant_id=tenant_pk
    )


@require_role()
@require_http_methods(["GET", "POST"])
def link_revoke(request, pk: int, link_pk: int):
    """GET: what revoking does, to confirm; POST: revoke."""
    link = _get_link(pk, link_pk)
    if request.method == "GET":
        if link.revoked_at or link.used_at or not request.user.can_write:
            return _back_to_tenant(request, pk)
        return render(request, "tenants/link_revoke.html", {"link": link, "tenant": link.tenant})
    consent.revoke_consent_link(actor=Actor.from_request(request), link=link)
    messages.success(request, _("Consent link revoked; it no longer opens."))
    return redirect("tenants:detail", pk=pk)


@require_role()
@require_http_methods(["GET", "POST"])
def link_reissue(request, pk: int, link_pk: int):
    link = _get_link(pk, link_pk)
    if request.method == "GET":
        return _back_to_tenant(request, pk)
    issued = consent.reissue_consent_link(actor=Actor.from_request(request), link=link)
    return _link_created(request, issued)


@require_role()
@require_POST
def link_email(request, pk: int, link_pk: int):
    link = _get_link(pk, link_pk)
    token = request.POST.get("token", "")
    try:
        to = consent.email_consent_link(
            actor=Actor.from_request(request), link=link, token=token, to=request.POST.get("to", "")
        )
    except TenantError as error:
        messages.error(request, str(error))
        return redirect("tenants:detail", pk=pk)
    messages.success(request, _("Consent link emailed to %(to)s.") % {"to": to})
    return redirect("tenants:detail", pk=pk)


@require_role()
@require_POST
def group_add(request, pk: int):
    tenant = get_object_or_404(CustomerTenant, pk=pk)
    form = GroupAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Pick a group from the search results."))
        return redirect("tenants:detail", pk=pk)
    try:
        group = groups.add_customer_group(
            actor=Actor.from_request(request),
            tenant=tenant,
            object_id=str(form.cleaned_data["object_id"]),
        )
    except TenantError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Group %(name)s added.") % {"name": group.display_name})
    return redirect("tenants:detail", pk=pk)


@require_role()
@require_POST
def group_remove(request, pk: int, group_pk: int):
    group = get_object_or_404(CustomerGroup, pk=group_pk, tenant_id=pk)
    groups.remove_customer_group(actor=Actor.from_request(request), group=group)
    messages.success(request, _("Group %(name)s removed.") % {"name": group.display_name})
    return redirect("tenants:detail", pk=pk)


@require_role()
def preflight(request):
    if request.method == "POST":
        try:
            sp = verification.create_home_acs_clients_sp(actor=Actor.from_request(request))
        except graph.GraphError as error:
            command = f"az ad sp create --id {settings.ACS_CLIENTS_APP_ID}"
            messages.error(
                request,
                format_html(
                    _("Could not create the service principal: {}. Run <code>{}</code> instead."),
                    error,
                    command,
                ),
            )
        else:
            messages.success(
                request, _("ACS Clients service principal is present (%(id)s).") % {"id": sp.id}
            )
        return redirect("tenants:preflight")
    findings = verification.run_preflight()
    acs_missing = any(f["check"] == "acs_clients_sp" and not f["ok"] for f in findings)
    return render(
        request,
        "tenants/preflight.html",
        {
            "findings": findings,
            "all_ok": bool(findings) and all(f["ok"] for f in findings),
            "warnings": sum(1 for f in findings if f.get("warning")),
            "acs_missing": acs_missing,
            "callback_url": consent.callback_url(),
        },
    )
