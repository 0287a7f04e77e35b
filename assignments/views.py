"""Pages for ACS resources, assignments, sync runs, drift and the access check (thin views)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from assignments import access, imports, outbox, selectors, services, uploads
from assignments.acs import key_env_var_allowed
from assignments.forms import (
    AccessCheckForm,
    AssignmentForm,
    FilterForm,
    ImportForm,
    ResourceForm,
    UserSearchForm,
)
from assignments.models import AcsResource, Assignment, DriftEntry, SyncRun
from audit.services import Actor
from portal.forms import id_or_none
from portal.roles import ADMINS, require_role
from tenants.models import CustomerTenant

PAGE_SIZE = 100


def _resource(pk: int) -> AcsResource:
    return get_object_or_404(AcsResource, pk=pk)


# --- resources ----------------------------------------------------------------------------
@require_role()
def resources(request):
    rows = AcsResource.objects.all()
    latest = {}
    for run in SyncRun.objects.filter(resource__in=rows).order_by("resource", "-queued_at"):
        latest.setdefault(run.resource_id, run)
    items = [(r, latest.get(r.pk), r.assignments.count()) for r in rows]
    return render(request, "assignments/resources.html", {"items": items})


# Endpoint and credentials decide where the operator app's credentials go: admins only.
@require_role(read=ADMINS, write=ADMINS)
def resource_create(request):
    form = ResourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            resource = services.create_resource(
                actor=Actor.from_request(request), **form.cleaned_data
            )
        except (services.AssignmentError, IntegrityError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{resource} added. Test the connection next.")
            return redirect("assignments:resource", pk=resource.pk)
    return render(request, "assignments/resource_form.html", {"form": form, "resource": None})


@require_role(read=ADMINS, write=ADMINS)
def resource_edit(request, pk: int):
    resource = _resource(pk)
    form = ResourceForm(request.POST or None, instance=resource)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_resource(
                actor=Actor.from_request(request),
                resource=AcsResource.objects.get(pk=pk),
                **form.cleaned_data,
            )
        except (services.AssignmentError, IntegrityError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Saved.")
            return redirect("assignments:resource", pk=pk)
    return render(request, "assignments/resource_form.html", {"form": form, "resource": resource})


@require_role()
def resource_detail(request, pk: int):
    resource = _resource(pk)
    if request.method == "POST":
        actor = Actor.from_request(request)
        if request.POST.get("action") == "test":
            result = services.test_resource_connection(actor=actor, resource=resource)
            (messages.success if result.ok else messages.error)(request, result.detail)
            return redirect("assignments:resource", pk=pk)
        if request.POST.get("action") == "sync":
            run = services.request_sync(actor=actor, resource=resource)
            run.refresh_from_db(fields=["message"])
            if run.message == outbox.WAITING_FOR_BROKER:
                messages.warning(request, run.message)
            return redirect("assignments:run", pk=run.pk)
        messages.error(request, "Unknown action.")
        return redirect("assignments:resource", pk=pk)
    qs = selectors.assignment_list(resource=resource)
    context = {
        "resource": resource,
        "counts": selectors.counts(qs),
        "runs": resource.sync_runs.all()[:10],
        "drift_count": resource.drift.count(),
        "key_is_set": _key_is_set(resource),
        "key_declared": key_env_var_allowed(resource.key_env_var),
    }
    return render(request, "assignments/resource_detail.html", context)


def _key_is_set(resource: AcsResource) -> bool:
    """Whether this server has the key (the value itself is never read into the page).

    Only for a declared variable name: the page must not tell whether any other exists.
    """
    import os

    name = resource.key_env_var
    return key_env_var_allowed(name) and bool(
        os.environ.get(name) or os.environ.get(f"{name}_FILE")
    )


# --- assignments --------------------------------------------------------------------------
def _list_context(request, **scope):
    """Filtered, paginated assignments of one resource or one tenant, with counts."""
    form = FilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.assignment_list(**scope)
    filtered = selectors.assignment_list(**scope, **{k: v for k, v in filters.items() if v})
    page = Paginator(filtered, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "filter_form": form,
        "page": page,
        "counts": selectors.counts(qs),
        "shown": filtered.count(),
        "query": query.urlencode(),
    }


@require_role()
def resource_assignments(request, pk: int):
    resource = _resource(pk)
    context = {"resource": resource, **_list_context(request, resource=resource)}
    return render(request, "assignments/assignment_list.html", context)


@require_role()
def tenant_assignments(request, tenant_pk: int):
    tenant = get_object_or_404(CustomerTenant, pk=tenant_pk)
    context = {"tenant": tenant, **_list_context(request, tenant=tenant)}
    return render(request, "assignments/assignment_list.html", context)


@require_role()
def assignment_add(request, pk: int):
    resource = _resource(pk)
    tenant = CustomerTenant.objects.filter(
        pk=id_or_none((request.POST or request.GET).get("tenant"))
    ).first()
    form = AssignmentForm(request.POST or None, tenant=tenant)
    search = UserSearchForm(request.GET if "q" in request.GET else None)
    found, search_error = [], ""
    if search.is_bound and search.is_valid():
        from tenants import graph

        try:
            found = graph.search_users(
                tenant_id=str(search.cleaned_data["tenant"].tenant_id),
                query=search.cleaned_data["q"],
                top=20,
            )
        except graph.GraphError as exc:
            search_error = f"Graph search failed: {exc}"
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            object_id, name = "", ""
            if data["principal_type"] == "user":
                user = services.find_user(tenant=data["tenant"], id_or_upn=data["user"])
                object_id, name = user.object_id, user.display_name
            elif data["principal_type"] == "group":
                object_id = data["group"]
            assignment = services.add_assignment(
                actor=Actor.from_request(request),
                resource=resource,
                tenant=data["tenant"],
                principal_type=data["principal_type"],
                object_id=object_id,
                display_name=name,
                client_ids=data["client_ids"],
                override=data["override"],
            )
        except services.AssignmentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"{assignment} added to {resource}; a sync starts in a few seconds."
            )
            return redirect("assignments:resource_assignments", pk=pk)
    context = {
        "resource": resource,
        "form": form,
        "search": search,
        "found": found,
        "search_error": search_error,
        "tenant": tenant,
    }
    return render(request, "assignments/assignment_add.html", context)


@require_role()
@require_POST
def assignment_remove(request, pk: int, assignment_pk: int):
    assignment = get_object_or_404(Assignment, pk=assignment_pk, resource_id=pk)
    try:
        services.remove_assignment(actor=Actor.from_request(request), assignment=assignment)
    except services.AssignmentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"{assignment} will be removed from the resource by the next sync."
        )
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        # Not redirect(back): it reads a bare word as a view name (NoReverseMatch: a 500).
        return HttpResponseRedirect(back)
    return redirect("assignments:resource_assignments", pk=pk)


# --- CSV ----------------------------------------------------------------------------------
@require_role()
def assignment_import(request, pk: int):
    """Upload → preview (the file stays on the server, ``assignments.uploads``) → confirm."""
    resource = _resource(pk)
    preview, form = None, ImportForm()
    context = {
        "resource": resource,
        "max_mb": uploads.MAX_BYTES // (1024 * 1024),
        "max_rows": imports.MAX_ROWS,
    }
    if request.method == "POST" and "confirm" in request.POST:
        stored = uploads.load(
            key=request.POST.get("upload", ""), user_id=request.user.pk, resource_id=resource.pk
        )
        if stored is None:
            messages.error(
                request, "That preview has expired or is not yours; upload the file again."
            )
            return redirect("assignments:import", pk=pk)
        try:
            preview = imports.apply_import(
                actor=Actor.from_request(request),
                resource=resource,
                text=stored.text,
                filename=stored.filename,
            )
        except imports.ImportRejected as exc:
            preview = exc.preview
            messages.error(request, f"Nothing was imported: {exc}")
        else:
            uploads.discard(stored.key)
            messages.success(
                request,
                f"Imported {len(preview.rows)} rows: {preview.count('add')} added, "
                f"{preview.count('update')} updated, {preview.count('unchanged')} unchanged.",
            )
            return redirect("assignments:resource_assignments", pk=pk)
        context.update(form=form, preview=preview, upload=stored.key, filename=stored.filename)
        return render(request, "assignments/import.html", context)
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            filename, text = form.cleaned_data["file"]
            preview = imports.preview_import(resource=resource, text=text)
            key = ""
            if preview.ok:
                key = uploads.store(
                    user_id=request.user.pk, resource_id=resource.pk, filename=filename, text=text
                )
            context.update(form=form, preview=preview, upload=key, filename=filename)
            return render(request, "assignments/import.html", context)
    context["form"] = form
    return render(request, "assignments/import.html", context)


@require_role()
def assignment_export(request, pk: int):
    resource = _resource(pk)
    body = selectors.assignments_csv(selectors.assignment_list(resource=resource))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    # Django quotes or percent-encodes the name, so a quote or CR/LF in it cannot split the header.
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{resource.name}-{stamp}.csv"
    )
    return response


# --- sync runs and drift ------------------------------------------------------------------
@require_role()
def run_detail(request, pk: int):
    run = get_object_or_404(SyncRun.objects.select_related("resource"), pk=pk)
    return render(request, "assignments/run.html", {"run": run, "resource": run.resource})


@require_role()
def run_progress(request, pk: int):
    run = get_object_or_404(SyncRun, pk=pk)
    return JsonResponse(selectors.run_progress(run))


@require_role()
def drift(request, pk: int):
    resource = _resource(pk)
    if request.method == "POST":
        entry = DriftEntry.objects.filter(
            resource=resource, pk=id_or_none(request.POST.get("entry"))
        ).first()
        actor = Actor.from_request(request)
        if entry is None:
            messages.error(request, "That remote assignment is no longer listed.")
        elif request.POST.get("action") == "adopt":
            try:
                adopted = services.adopt_drift(actor=actor, entry=entry)
                messages.success(request, f"{adopted} is now managed by the portal.")
            except services.AssignmentError as exc:
                messages.error(request, str(exc))
        elif request.POST.get("action") == "remove":
            services.remove_drift(actor=actor, entry=entry)
            messages.success(
                request, f"{entry} will be deleted from the resource by the next sync."
            )
        return redirect("assignments:drift", pk=pk)
    entries = resource.drift.all()
    known = {str(t.tenant_id): t for t in CustomerTenant.objects.all()}
    rows = [(e, known.get(e.tenant_id)) for e in entries]
    return render(request, "assignments/drift.html", {"resource": resource, "rows": rows})


# --- access check -------------------------------------------------------------------------
@require_role()
def access_check(request):
    form = AccessCheckForm(request.GET or None)
    report, exchange = None, None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        report = access.check_access(
            actor=Actor.from_request(request),
            resource=data["resource"],
            tenant=data["tenant"],
            user=data["user"],
        )
    if request.method == "POST" and settings.CLOUDSIM_MODE:
        post = AccessCheckForm(request.POST)
        if post.is_valid():
            data = post.cleaned_data
            try:
                exchange = access.exchange_test(
                    resource=data["resource"], tenant=data["tenant"], upn=data["user"]
                )
            except services.AssignmentError as exc:
                messages.error(request, str(exc))
    context = {
        "form": form,
        "report": report,
        "exchange": exchange,
        "cloudsim_mode": settings.CLOUDSIM_MODE,
    }
    return render(request, "assignments/access_check.html", context)
