"""A customer admin at a dead end asks the operator for a new consent link.

The pages that end in "ask for a new link" (an expired or withdrawn link, a consent that came
back from another organization) carry a signed reference to their link. Posting it records one
``consent.link_requested`` audit event, which the notifications deliver as ``link.requested``
to the operators and webhooks that subscribed. No account is needed, so each link may ask at
most ``CONSENT_LINK_REQUEST_LIMIT`` times per ``CONSENT_LINK_REQUEST_WINDOW`` seconds
(``tenants.ratelimit``): a page reloaded or a button pressed a hundred times tells the operator
once.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db import transaction

from audit.actions import Action
from audit.services import Actor, record_event
from tenants import ratelimit
from tenants.models import ConsentLink

SALT = "tenants.link-request"
# A page left open for a month may still ask; after that the admin opens the link again.
REF_MAX_AGE = 30 * 24 * 3600
# Why the admin needs a new link: the link's own state, or the page that offered the button.
REASONS = ("expired", "revoked", "other_tenant", "failed")
SCOPE = "link-request"


def ref_for(link: ConsentLink, reason: str) -> str:
    """The signed reference a page posts back; it names the link, never its token."""
    return signing.dumps({"l": link.pk, "r": reason}, salt=SALT, compress=True)


def read_ref(ref: str) -> tuple[ConsentLink, str] | None:
    """(link, reason) of a genuine reference; None when it is forged, too old or unknown."""
    try:
        data = signing.loads(ref or "", salt=SALT, max_age=REF_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("l"), int):
        return None
    if data.get("r") not in REASONS:
        return None
    link = ConsentLink.objects.select_related("tenant").filter(pk=data["l"]).first()
    return (link, data["r"]) if link else None


def request_new_link(*, link: ConsentLink, reason: str, ip: str | None = None) -> bool:
    """Tell the operator this link's admin wants a new one; False when it already asked.

    One audit event per request that gets through; a request over the limit changes nothing.
    """
    allowed = ratelimit.allow(
        scope=SCOPE,
        ident=str(link.pk),
        limit=settings.CONSENT_LINK_REQUEST_LIMIT,
        window_seconds=settings.CONSENT_LINK_REQUEST_WINDOW,
    )
    if not allowed:
        return False
    with transaction.atomic():
        record_event(
            actor=Actor.customer_admin(tenant_label=str(link.tenant), ip=ip),
            action=Action.CONSENT_LINK_REQUESTED,
            target=link,
            tenant=link.tenant,
            details={"link": link.pk, "reason": reason},
        )
    return True
