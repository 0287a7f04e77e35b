"""What every API view shares: ETags with If-Match, Idempotency-Key on POST, role attributes.

ETags: a single object's GET answers ``ETag`` (a hash of its representation). PATCH and DELETE
must send ``If-Match`` with it: missing is ``428``, a different one (the object changed since)
is ``412``. The comparison runs with the row locked, in the same transaction as the change, so
of two automations holding the same ETag exactly one wins.

Idempotency: a POST with ``Idempotency-Key`` is recorded (client, key, hash of method, path and
body) before it runs, under a unique constraint. A retry with the same body gets the first
answer again (``Idempotent-Replayed: true``); the same key with another body is ``422``; a
duplicate arriving while the first still runs is ``409``. A first answer that is a 5xx is not
kept, so the retry runs again. Keys are kept ``IDEMPOTENCY_KEEP`` (24 h).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from api.auth import token_of
from api.models import IdempotencyRecord
from api.problems import Problem
from portal.roles import ALL_ROLES, WRITERS

IDEMPOTENCY_KEEP = timedelta(hours=24)
MAX_KEY_LENGTH = 255
# Answers whose body carries a secret shown once: a replay answers them without it.
SECRET_FIELDS = ("url", "token")
KEPT_HEADERS = ("Location", "ETag")


def etag_of(data) -> str:
    """A strong ETag of a representation."""
    digest = hashlib.sha256(JSONRenderer().render(data)).hexdigest()[:32]
    return f'"{digest}"'


def _matches(header: str, etag: str) -> bool:
    candidates = [c.strip() for c in header.split(",")]
    return "*" in candidates or etag in candidates


class _Replay(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class ApiViewSet(viewsets.GenericViewSet):
    """A viewset with the portal's role attributes, ETags and idempotent POSTs."""

    read_roles = ALL_ROLES
    write_roles = WRITERS
    # Every object is named by its integer id: anything else is not a route (a 404 problem),
    # never a lookup (PostgreSQL refuses a NUL byte in a query with an error, not "no row").
    lookup_value_regex = "[0-9]+"
    _idempotency: IdempotencyRecord | None = None

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        view = super().as_view(actions, **initkwargs)
        # The URL walk of tests/test_roles.py reads who may use each route from here.
        view.portal_access = {
            "read": frozenset(cls.read_roles),
            "write": frozenset(cls.write_roles),
        }
        return view

    # --- ETag / If-Match ---------------------------------------------------------------
    def represent(self, instance) -> dict:
        return self.get_serializer(instance).data

    def tagged(self, instance, status: int = 200, headers: dict | None = None) -> Response:
        """The object's representation with its ETag."""
        data = self.represent(instance)
        return Response(data, status=status, headers={"ETag": etag_of(data), **(headers or {})})

    def retrieve_tagged(self, instance) -> Response:
        data = self.represent(instance)
        etag = etag_of(data)
        if _matches(self.request.headers.get("If-None-Match", ""), etag):
            return Response(status=304, headers={"ETag": etag})
        return Response(data, headers={"ETag": etag})

    def check_if_match(self, instance) -> None:
        """Refuse the change unless If-Match names the object's current ETag. Call it inside
        the transaction that changes the object, with the row locked."""
        header = self.request.headers.get("If-Match", "")
        if not header:
            raise Problem(
                "precondition-required",
                "Send If-Match with the ETag of your last GET of this object.",
            )
        if not _matches(header, etag_of(self.represent(instance))):
            raise Problem(
                "precondition-failed",
                "The object changed since you read it: GET it again, then retry.",
            )

    # --- Idempotency-Key -------------------------------------------------------------------
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = request.headers.get("Idempotency-Key", "")
        if request.method != "POST" or not key:
            return
        if len(key) > MAX_KEY_LENGTH:
            raise Problem(
                "validation", f"An Idempotency-Key has at most {MAX_KEY_LENGTH} characters."
            )
        token = token_of(request)
        client = f"token:{token.pk}" if token else f"user:{request.user.pk}"
        digest = hashlib.sha256(
            b"\n".join([request.method.encode(), request.path.encode(), request.body])
        ).hexdigest()
        IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_KEEP).delete()
        try:
            with transaction.atomic():
                self._idempotency = IdempotencyRecord.objects.create(
                    client=client, key=key, request_hash=digest
                )
            return
        except IntegrityError:
            pass
        first = IdempotencyRecord.objects.filter(client=client, key=key).first()
        if first is None:  # removed between the two statements: treat as new
            raise Problem("idempotency-in-progress", "Retry the request.", retry_after=1)
        if first.request_hash != digest:
            raise Problem(
                "idempotency-key-reused",
                "This Idempotency-Key was sent with another request; use a new key.",
            )
        if first.completed_at is None:
            raise Problem(
                "idempotency-in-progress",
                "The first request with this Idempotency-Key has not finished; retry shortly.",
                retry_after=1,
            )
        headers = {**first.headers, "Idempotent-Replayed": "true"}
        content_type = headers.pop("Content-Type", None)
        raise _Replay(
            Response(
                first.body, status=first.status_code, headers=headers, content_type=content_type
            )
        )

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record, self._idempotency = self._idempotency, None
        if record is None:
            return response
        if response.status_code >= 500:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        body = response.data
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k not in SECRET_FIELDS}
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            completed_at=timezone.now(),
            status_code=response.status_code,
            body=json.loads(JSONRenderer().render(body)) if body is not None else None,
            headers={
                **{h: response[h] for h in KEPT_HEADERS if response.has_header(h)},
                **({"Content-Type": response.content_type} if response.content_type else {}),
            },
        )
        return response
