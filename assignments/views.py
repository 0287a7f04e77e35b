"""Pages for ACS resources, assignments, sync runs, drift and the access check (thin views)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from assignments import access, imports, names, outbox, selectors, services, uploads
from assignments.acs import key_env_var_allowed
from assignments.filters import AssignmentFilter, ResourceFilter, SyncRunFilter
from assignments.forms import (
    AccessCheckForm,
    AssignForm,
    BulkForm,
    EditAssignmentForm,
    FindForm,
    ImportForm,
    ResourceForm,
)
from assignments.models import AcsResource, Assignment, Desired, DriftEntry, SyncRun
from audit.services import Actor
from portal.forms import id_or_none
from portal.roles import ADMINS, WRITERS, require_role
from tenants.errors import TenantError
from tenants.graph_auth import normalize_guid
from tenants.models import CustomerTenant, TenantStatus

PAGE_SIZE = 100


def _resource(pk: int) -> AcsResource:
    return get_object_or_404(AcsResource, pk=pk)


# --- resources ----------------------------------------------------------------------------
@require_role()
def resources(request):
    filterset = ResourceFilter(request.GET or None)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {**_list_extras(request, filterset, page), "any": AcsResource.objects.exists()}
    return render(request, "assignments/resources.html", context)


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
            messages.success(
                request, _("%(resource)s added. Test the connection next.") % {"resource": resource}
            )
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
            messages.success(request, _("Saved."))
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
        messages.error(request, _("Unknown action."))
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
def _scope_qs(scope) -> QuerySet[Assignment]:
    if isinstance(scope, AcsResource):
        return Assignment.objects.filter(resource=scope)
    return Assignment.objects.filter(tenant=scope)


def _list_url(scope) -> str:
    if isinstance(scope, AcsResource):
        return reverse("assignments:resource_assignments", args=[scope.pk])
    return reverse("assignments:tenant_assignments", args=[scope.pk])


def _assignment_list(request, scope, *, title: str):
    """An assignment list (one resource's or one tenant's): filters, sorting, names, bulk."""
    params = request.GET if request.method == "GET" else _query_from(request.POST)
    filterset = AssignmentFilter(params or None, queryset=_scope_qs(scope))
    if isinstance(scope, AcsResource):
        del filterset.form.fields["resource"]
    else:
        del filterset.form.fields["tenant"]
    if request.method == "POST":
        return _bulk(request, scope, filterset)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    names.name_assignments(page.object_list)
    context = {
        **_list_extras(request, filterset, page),
        "scope": scope,
        "resource": scope if isinstance(scope, AcsResource) else None,
        "tenant": scope if isinstance(scope, CustomerTenant) else None,
        "title": title,
        "counts": selectors.counts(_scope_qs(scope)),
    }
    return render(request, "assignments/assignment_list.html", context)


FILTER_KEYS = ("q", "principal_type", "sync_state", "tenant", "resource", "ordering")


def _query_from(post) -> QueryDict:
    """The list's filter, carried by the bulk form as ``f_<name>`` fields."""
    query = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        value = post.get(f"f_{key}", "")
        if value:
            query[key] = value
    return query


def _bulk(request, scope, filterset):
    form = BulkForm(request.POST)
    back = _list_url(scope) + (f"?{filterset.data.urlencode()}" if filterset.data else "")
    if not form.is_valid():
        messages.error(request, _("Choose an action for the selected assignments."))
        return HttpResponseRedirect(back)
    data = form.cleaned_data
    if data["scope"] == "matching":
        chosen = filterset.qs
    else:
        ids = [i for i in (id_or_none(v) for v in request.POST.getlist("ids")) if i]
        chosen = _scope_qs(scope).filter(pk__in=ids)
    chosen = chosen.order_by("principal_type", "display_name", "object_id")
    actor = Actor.from_request(request)
    try:
        if data["action"] == "remove":
            summary = services.summarize(chosen.filter(desired=Desired.PRESENT))
            if not data["confirmed"] or data["expected"] != summary.count:
                if not summary.count:
                    raise services.AssignmentError("Select the assignments to remove first.")
                return _confirm_page(
                    request, scope, summary, form, filterset, back, changed=data["confirmed"]
                )
            count = services.remove_assignments(actor=actor, assignments=chosen, scope=scope)
            messages.success(
                request,
                ngettext(
                    "%(count)d assignment will be removed from the resource by the next sync.",
                    "%(count)d assignments will be removed from the resource by the next sync.",
                    count,
                )
                % {"count": count},
            )
        else:
            only_failed = data["action"] == "retry"
            count = services.resync_assignments(
                actor=actor, assignments=chosen, scope=scope, only_failed=only_failed
            )
            if only_failed:
                sent = ngettext(
                    "%(count)d failed assignment will be sent again by a sync now.",
                    "%(count)d failed assignments will be sent again by a sync now.",
                    count,
                )
            else:
                sent = ngettext(
                    "%(count)d assignment will be sent again by a sync now.",
                    "%(count)d assignments will be sent again by a sync now.",
                    count,
                )
            messages.success(request, sent % {"count": count})
    except services.AssignmentError as exc:
        messages.error(request, str(exc))
    return HttpResponseRedirect(back)


def _confirm_page(request, scope, summary, form, filterset, back: str, *, changed: bool):
    names.name_assignments(summary.examples)
    context = {
        "scope": scope,
        "resource": scope if isinstance(scope, AcsResource) else None,
        "tenant": scope if isinstance(scope, CustomerTenant) else None,
        "summary": summary,
        "changed": changed,
        "scope_choice": form.cleaned_data["scope"] or "selected",
        "ids": request.POST.getlist("ids"),
        "filters": [(f"f_{k}", v) for k, v in filterset.data.items() if k in FILTER_KEYS],
        "back": back,
        "action_url": _list_url(scope),
    }
    return render(request, "assignments/confirm_remove.html", context)


@require_role()
def resource_assignments(request, pk: int):
    resource = _resource(pk)
    return _assignment_list(request, resource, title=f"Assignments of {resource.name}")


@require_role()
def tenant_assignments(request, tenant_pk: int):
    tenant = get_object_or_404(CustomerTenant, pk=tenant_pk)
    return _assignment_list(request, tenant, title=f"Assignments of {tenant}")


@dataclass
class Found:
    """A search result of the add page: a user or group of the tenant, and whether it is
    assigned on the resource already."""

    kind: str
    object_id: str
    display_name: str
    detail: str = ""
    assigned: bool = False


def _search(tenant: CustomerTenant, query: str) -> list[Found]:
    """Users and groups of ``tenant`` whose name (or UPN) starts with ``query``, or the user or
    group with that object id; each name is remembered for the lists (``assignments.names``)."""
    from tenants import graph

    tid = str(tenant.tenant_id)
    oid = graph.normalize_guid(query)
    if oid:
        user = graph.get_user(tenant_id=tid, id_or_upn=oid)
        group = None if user else graph.get_group(tenant_id=tid, group_id=oid)
        users, groups = [user] if user else [], [group] if group else []
    else:
        users = graph.search_users(tenant_id=tid, query=query, top=20)
        groups = [] if "@" in query else graph.search_groups(tenant_id=tid, query=query, top=20)
    found = [
        Found("user", u.id, u.display_name or u.user_principal_name, u.user_principal_name)
        for u in users
    ] + [Found("group", g.id, g.display_name, g.description) for g in groups]
    for f in found:
        f.display_name = names.remember(
            kind=f.kind, tenant_id=tid, object_id=f.object_id, name=f.display_name
        )
    return found


def _posted_picks(post, tenant: CustomerTenant) -> list[str]:
    """ "kind:object id" of each principal to assign: the one whose Assign was pressed, or
    the ticked ones. Scripts may post ``principal_type`` with ``user`` (an object id or UPN)
    or ``group`` instead."""
    if post.get("one"):
        return [post["one"]]
    kind = post.get("principal_type", "")
    if kind in ("user", "group", "tenant"):
        value = {"tenant": str(tenant.tenant_id)}.get(kind) or post.get(kind, "").strip()
        return [f"{kind}:{value}"]
    return post.getlist("picked")


def _pick(value: str) -> tuple[str, str]:
    kind, _sep, oid = value.partition(":")
    return kind, oid


@require_role(read=WRITERS)  # a form only those who may save it see
def assignment_add(request, pk: int | None = None):
    """Add assignments in one flow: tenant, search users and groups, Assign (one or several).

    GET shows the search; POST assigns the picked principals, then returns to the same search
    (post-redirect-get), so the next one can be picked at once.
    """
    from tenants import graph
    from tenants.actions import groups as tenant_groups

    resource = _resource(pk) if pk is not None else None
    params = (request.POST if request.method == "POST" else request.GET).copy()
    if resource is None and not params.get("resource"):
        only = list(AcsResource.objects.values_list("pk", flat=True)[:2])
        if len(only) == 1:  # the only resource is preselected
            params["resource"] = str(only[0])
    find = FindForm(params if params.get("tenant") else None, resource=resource)
    if find.is_bound and find.is_valid():
        resource = resource or find.cleaned_data["resource"]
        tenant = find.cleaned_data["tenant"]
        query = find.cleaned_data["q"].strip()
    else:
        tenant, query = None, ""
    assign = AssignForm(request.POST if request.method == "POST" else None)
    needs_override = tenant is not None and tenant.status != TenantStatus.VERIFIED
    if not needs_override:
        del assign.fields["override"]
    if request.method == "POST" and tenant is not None and resource is not None:
        picks = _posted_picks(request.POST, tenant)
        if not picks:
            messages.error(request, _("Choose who to assign: tick results, or use Assign on one."))
        elif assign.is_valid():
            failed = _assign_picks(request, resource, tenant, picks, assign, tenant_groups)
            here = reverse("assignments:assignment_add", args=[resource.pk])
            back = QueryDict(mutable=True)
            back.update({"tenant": str(tenant.pk), "q": query})
            if pk is None:
                here = reverse("assignments:assign")
                back["resource"] = str(resource.pk)
            if not failed:  # else the page shows why, with the choices kept
                return HttpResponseRedirect(f"{here}?{back.urlencode()}")
    found: list[Found] = []
    search_error = ""
    if tenant is not None and resource is not None:
        try:
            found = _search(tenant, query)
        except graph.GraphError as exc:
            search_error = f"Microsoft Graph could not search {tenant}: {exc}"
        assigned = set(
            Assignment.objects.filter(
                resource=resource,
                desired=Desired.PRESENT,
                object_id__in=[f.object_id for f in found if graph.normalize_guid(f.object_id)],
            ).values_list("object_id", flat=True)
        )
        for f in found:
            f.assigned = graph.normalize_guid(f.object_id) in {str(a) for a in assigned}
    tenant_assigned = bool(
        tenant
        and resource
        and Assignment.objects.filter(
            resource=resource, object_id=tenant.tenant_id, desired=Desired.PRESENT
        ).exists()
    )
    context = {
        "resource": resource,
        "fixed_resource": pk is not None,
        "find": find,
        "assign": assign,
        "tenant": tenant,
        "query": query,
        "found": found,
        "search_error": search_error,
        "tenant_assigned": tenant_assigned,
    }
    return render(request, "assignments/assignment_add.html", context)


def _assign_picks(request, resource, tenant, picks, assign, tenant_groups) -> int:
    """Assign each picked principal; one message per outcome. Returns how many failed."""
    actor = Actor.from_request(request)
    done, failed, tid = [], 0, str(tenant.tenant_id)
    for value in picks[:50]:
        kind, oid = _pick(value)
        try:
            if kind == "group" and not tenant.groups.filter(object_id=normalize_guid(oid)).exists():
                # A group found in Graph becomes one of the tenant's customer groups first.
                tenant_groups.add_customer_group(actor=actor, tenant=tenant, object_id=oid)
            name = ""
            if kind == "user" and not normalize_guid(oid):  # a UPN: Graph gives the id
                user = services.find_user(tenant=tenant, id_or_upn=oid)
                oid, name = user.object_id, user.display_name
            elif kind == "user":
                name = names.display_name(kind, tid, oid)
            assignment = services.add_assignment(
                actor=actor,
                resource=resource,
                tenant=tenant,
                principal_type=kind,
                object_id=oid,
                display_name=name,
                client_ids=assign.cleaned_data["client_ids"],
                override=assign.cleaned_data.get("override", False),
            )
        except (services.AssignmentError, TenantError) as exc:
            messages.error(request, str(exc))
            failed += 1
        else:
            done.append(assignment)
    if done:
        who = ", ".join(str(a.display_name or a.object_id) for a in done[:5])
        if len(done) > 5:
            text = _(
                "Assigned %(who)s and %(more)d more on %(resource)s; a sync starts in a few "
                "seconds."
            )
        else:
            text = _("Assigned %(who)s on %(resource)s; a sync starts in a few seconds.")
        messages.success(request, text % {"who": who, "more": len(done) - 5, "resource": resource})
    return failed


def _assignment(pk: int, assignment_pk: int) -> Assignment:
    return get_object_or_404(
        Assignment.objects.select_related("resource", "tenant"), pk=assignment_pk, resource_id=pk
    )


@require_role(read=WRITERS)  # a form only those who may save it see
def assignment_edit(request, pk: int, assignment_pk: int):
    assignment = _assignment(pk, assignment_pk)
    names.name_assignments([assignment])
    form = EditAssignmentForm(
        request.POST or None, initial={"client_ids": "; ".join(assignment.client_ids)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_assignment(
                actor=Actor.from_request(request),
                assignment=assignment,
                client_ids=form.cleaned_data["client_ids"],
            )
        except services.AssignmentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Saved %(assignment)s; a sync starts in a few seconds.")
                % {"assignment": assignment},
            )
            return redirect("assignments:resource_assignments", pk=pk)
    return render(
        request, "assignments/assignment_edit.html", {"assignment": assignment, "form": form}
    )


@require_role(read=WRITERS)  # a form only those who may save it see
def assignment_remove(request, pk: int, assignment_pk: int):
    """GET: what removing this assignment will do; POST: remove it."""
    assignment = _assignment(pk, assignment_pk)
    back = request.POST.get("next") or request.GET.get("next") or ""
    if not (back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})):
        back = reverse("assignments:resource_assignments", args=[pk])
    if request.method != "POST":
        names.name_assignments([assignment])
        return render(
            request,
            "assignments/confirm_remove_one.html",
            {"assignment": assignment, "resource": assignment.resource, "back": back},
        )
    try:
        services.remove_assignment(actor=Actor.from_request(request), assignment=assignment)
    except services.AssignmentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(assignment)s will be removed from the resource by the next sync.")
            % {"assignment": assignment},
        )
    # Not redirect(back): it reads a bare word as a view name (NoReverseMatch: a 500).
    return HttpResponseRedirect(back)


# --- CSV ----------------------------------------------------------------------------------
@require_role(read=WRITERS)  # a form only those who may save it see
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
                request, _("That preview has expired or is not yours; upload the file again.")
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
            messages.error(request, _("Nothing was imported: %(error)s") % {"error": exc})
        else:
            uploads.discard(stored.key)
            removed = preview.count("remove")
            messages.success(
                request,
                (
                    ngettext(
                        "Imported %(count)d row: %(added)d added, %(updated)d updated, "
                        "%(removed)d marked for removal, %(unchanged)d unchanged.",
                        "Imported %(count)d rows: %(added)d added, %(updated)d updated, "
                        "%(removed)d marked for removal, %(unchanged)d unchanged.",
                        len(preview.rows),
                    )
                    if removed
                    else ngettext(
                        "Imported %(count)d row: %(added)d added, %(updated)d updated, "
                        "%(unchanged)d unchanged.",
                        "Imported %(count)d rows: %(added)d added, %(updated)d updated, "
                        "%(unchanged)d unchanged.",
                        len(preview.rows),
                    )
                )
                % {
                    "count": len(preview.rows),
                    "added": preview.count("add"),
                    "updated": preview.count("update"),
                    "removed": removed,
                    "unchanged": preview.count("unchanged"),
                },
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
    run = get_object_or_404(SyncRun.objects.select_related("resource", "requested_by"), pk=pk)
    context = {
        "run": run,
        "resource": run.resource,
        "state": selectors.run_state(run),
        "failures": selectors.failures(run),
    }
    return render(request, "assignments/run.html", context)


@require_role()
@require_POST
def run_retry_failed(request, pk: int):
    """ "Retry failed entries" on a run's page: a sync of the entries that failed, now."""
    run = get_object_or_404(SyncRun.objects.select_related("resource"), pk=pk)
    try:
        queued = services.retry_failed(
            actor=Actor.from_request(request), resource=run.resource, run=run
        )
    except services.AssignmentError as exc:
        messages.error(request, str(exc))
        return redirect("assignments:run", pk=pk)
    messages.success(request, _("The failed entries are being sent again."))
    return redirect("assignments:run", pk=queued.pk)


@require_role()
def runs(request, pk: int | None = None):
    """Every sync run, or one resource's: filters, search, sorting."""
    resource = _resource(pk) if pk is not None else None
    filterset = SyncRunFilter(
        request.GET or None, queryset=resource.sync_runs.all() if resource else None
    )
    if resource is not None:
        del filterset.form.fields["resource"]
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {**_list_extras(request, filterset, page), "resource": resource}
    return render(request, "assignments/runs.html", context)


def _list_extras(request, filterset, page) -> dict:
    query = request.GET.copy()
    query.pop("page", None)
    sort = query.copy()
    sort.pop("ordering", None)
    return {
        "filter_form": filterset.form,
        "page": page,
        "shown": page.paginator.count,
        "query": query.urlencode(),
        "sort_query": sort.urlencode(),
        "ordering": request.GET.get("ordering", ""),
        "filtered": any(v for k, v in request.GET.items() if k not in ("page", "ordering")),
    }


@require_role()
def run_progress(request, pk: int):
    run = get_object_or_404(SyncRun, pk=pk)
    return JsonResponse(selectors.run_progress(run))


@require_role()
def drift(request, pk: int):
    resource = _resource(pk)
    if request.method == "POST":
        entry_pk = id_or_none(request.POST.get("entry"))
        entry = (
            DriftEntry.objects.filter(resource=resource, pk=entry_pk).first()
            if entry_pk is not None
            else None
        )
        actor = Actor.from_request(request)
        if entry is None:
            messages.error(request, _("That remote assignment is no longer listed."))
        elif request.POST.get("action") == "adopt":
            try:
                adopted = services.adopt_drift(actor=actor, entry=entry)
                messages.success(
                    request, _("%(entry)s is now managed by the portal.") % {"entry": adopted}
                )
            except services.AssignmentError as exc:
                messages.error(request, str(exc))
        elif request.POST.get("action") == "remove":
            services.remove_drift(actor=actor, entry=entry)
            messages.success(
                request,
                _("%(entry)s will be deleted from the resource by the next sync.")
                % {"entry": entry},
            )
        return redirect("assignments:drift", pk=pk)
    entries = list(resource.drift.all())
    known = {
        str(t.tenant_id): t
        for t in CustomerTenant.objects.filter(
            tenant_id__in=[e.tenant_id for e in entries if normalize_guid(e.tenant_id)]
        )
    }
    _name_drift(entries)
    rows = [(e, known.get(e.tenant_id)) for e in entries]
    return render(request, "assignments/drift.html", {"resource": resource, "rows": rows})


def _name_drift(entries: list[DriftEntry]) -> None:
    """Names for drift entries (Graph for the registered tenants); newly learned ones are
    stored on the entry, so the next page needs no Graph read."""
    book = names.NameBook()
    unnamed = [e for e in entries if not e.display_name]
    keys = [(e, book.want(e.principal_type or "user", e.tenant_id, e.object_id)) for e in unnamed]
    book.resolve()
    learned = []
    for entry, key in keys:
        if book.names.get(key):
            entry.display_name = book.names[key]
            learned.append(entry)
    if learned:
        DriftEntry.objects.bulk_update(learned, ["display_name"])


# --- connect your app --------------------------------------------------------------------
@require_role()
def connect(request, pk: int):
    """Ready-to-paste JavaScript and .NET for getting ACS tokens for Entra ID users."""
    from assignments import connect as connect_snippets

    resource = _resource(pk)
    audience = request.GET.get("audience", "")
    multitenant = {"multi": True, "single": False}.get(audience)
    code = connect_snippets.snippets(resource, multitenant=multitenant)
    return render(request, "assignments/connect.html", {"resource": resource, "code": code})


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
