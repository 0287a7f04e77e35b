"""Pages: notification preferences, webhook endpoints and deliveries, outbox, reminders."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.services import Actor
from notifications import reminders, selectors, services
from notifications.forms import EndpointForm, SubscriptionForm
from notifications.models import Delivery, WebhookEndpoint
from portal.roles import ADMINS, ALL_ROLES, WRITERS, require_role
from tenants.models import ConsentLink


@require_role(read=ALL_ROLES, write=WRITERS)
def preferences(request):
    current = selectors.subscription_of(request.user)
    form = SubscriptionForm(request.POST or None, initial=SubscriptionForm.initial_from(current))
    if request.method == "POST" and form.is_valid():
        services.save_preferences(
            actor=Actor.from_request(request), user=request.user, **form.cleaned_data
        )
        messages.success(request, _("Saved. Matching events are emailed to you."))
        return redirect("notifications:preferences")
    return render(
        request, "notifications/preferences.html", {"form": form, "email": request.user.email}
    )


@require_role(read=ADMINS, write=ADMINS)
def outbox(request):
    return render(request, "notifications/outbox.html", {"mails": selectors.outbox()})


@require_role(read=ALL_ROLES, write=ADMINS)
def webhooks(request):
    return render(request, "notifications/webhooks.html", {"endpoints": selectors.endpoints()})


def _secret_page(request, endpoint: WebhookEndpoint, secret: str, made: bool):
    response = render(
        request,
        "notifications/webhook_secret.html",
        {"endpoint": endpoint, "secret": secret, "made": made},
    )
    response["Cache-Control"] = "no-store"
    return response


@require_role(read=ADMINS, write=ADMINS)
def webhook_create(request):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "enabled"}
        try:
            endpoint, secret = services.create_endpoint(actor=Actor.from_request(request), **data)
        except services.NotificationError as exc:
            form.add_error("url", str(exc))
        else:
            return _secret_page(request, endpoint, secret, made=True)
    return render(request, "notifications/webhook_form.html", {"form": form, "endpoint": None})


@require_role(read=ALL_ROLES, write=ADMINS)
def webhook_detail(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    sub = getattr(endpoint, "subscription", None)
    initial = {
        "name": endpoint.name,
        "url": endpoint.url,
        "enabled": endpoint.enabled,
        **EndpointForm.initial_from(sub),
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_endpoint(
                actor=Actor.from_request(request), endpoint=endpoint, **form.cleaned_data
            )
        except services.NotificationError as exc:
            form.add_error("url", str(exc))
        else:
            messages.success(request, _("Saved."))
            return redirect("notifications:webhook", pk=pk)
    page = Paginator(selectors.deliveries(endpoint), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/webhook_detail.html",
        {"endpoint": endpoint, "form": form, "page": page},
    )


@require_role(read=ADMINS, write=ADMINS)
@require_POST
def webhook_ping(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    services.send_ping(actor=Actor.from_request(request), endpoint=endpoint)
    messages.success(request, _("Test ping queued; its outcome appears under Deliveries."))
    return redirect("notifications:webhook", pk=pk)


@require_role(read=ADMINS, write=ADMINS)
@require_POST
def webhook_rotate(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    secret = services.rotate_secret(actor=Actor.from_request(request), endpoint=endpoint)
    endpoint.refresh_from_db()
    return _secret_page(request, endpoint, secret, made=False)


@require_role(read=ADMINS, write=ADMINS)
@require_POST
def webhook_delete(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    services.delete_endpoint(actor=Actor.from_request(request), endpoint=endpoint)
    messages.success(request, _("%(name)s removed.") % {"name": endpoint.name})
    return redirect("notifications:webhooks")


@require_role(read=ADMINS, write=ADMINS)
@require_POST
def redeliver(request, pk: int):
    delivery = get_object_or_404(Delivery, pk=pk)
    services.redeliver(actor=Actor.from_request(request), delivery=delivery)
    messages.success(request, _("Redelivery queued."))
    if delivery.endpoint_id:
        return redirect("notifications:webhook", pk=delivery.endpoint_id)
    return redirect("notifications:webhooks")


@require_role(read=ALL_ROLES, write=WRITERS)
def link_reminders(request, pk: int):
    link = get_object_or_404(
        ConsentLink.objects.select_related("tenant").prefetch_related("reminders"), pk=pk
    )
    if request.method == "POST":
        services.stop_reminders(actor=Actor.from_request(request), link=link)
        messages.success(request, _("Reminders stopped for this link."))
        return redirect("notifications:link_reminders", pk=pk)
    return render(
        request,
        "notifications/link_reminders.html",
        {
            "link": link,
            "steps": reminders.schedule(link),
            "stopped": reminders.stopped_because(link),
            "now": timezone.now(),
        },
    )
