"""Errors as RFC 9457 problem details (``application/problem+json``), one stable ``type`` each.

Every error the API answers goes through ``exception_handler``: DRF's own (validation, auth,
throttling, not found) and the domain's refusals (``TenantError``, ``AssignmentError``, …),
which the services raise with a message meant for a person, passed on as ``detail``.
docs/api.md lists the types.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from api.tokens import TokenError
from assignments.imports import ImportRejected
from assignments.services import AssignmentError
from portal.request_context import get_request_id
from tenants.actions.consent import LinkUnavailable
from tenants.errors import InvalidTransition, TenantError

logger = logging.getLogger(__name__)

TYPE_BASE = "urn:acs-portal:problem:"
CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str
    status: int

    @property
    def uri(self) -> str:
        return TYPE_BASE + self.slug


def _t(slug: str, title: str, code: int) -> ProblemType:
    return ProblemType(slug, title, code)


TYPES = {
    t.slug: t
    for t in (
        _t("validation", "The request is not valid", 400),
        _t("malformed-request", "The request body could not be read", 400),
        _t("unauthenticated", "Authentication is needed", 401),
        _t("forbidden", "Your role or token does not allow this", 403),
        _t("not-found", "Not found", 404),
        _t("method-not-allowed", "Method not allowed", 405),
        _t("not-acceptable", "Cannot answer in the requested format", 406),
        _t("idempotency-in-progress", "A request with this Idempotency-Key is still running", 409),
        _t("invalid-transition", "The tenant's status does not allow this", 409),
        _t("link-unavailable", "The consent link can no longer be used", 410),
        _t("precondition-failed", "The resource changed since you read it", 412),
        _t("unsupported-media-type", "Unsupported media type", 415),
        _t("tenant-refused", "The tenant request was refused", 422),
        _t("assignment-refused", "The assignment request was refused", 422),
        _t("bulk-rejected", "Some items are not valid; nothing was changed", 422),
        _t("token-refused", "The token request was refused", 422),
        _t("idempotency-key-reused", "This Idempotency-Key was used for another request", 422),
        _t("precondition-required", "Send If-Match with the ETag you read", 428),
        _t("rate-limited", "Too many requests", 429),
        _t("server-error", "The portal could not answer", 500),
    )
}


class Problem(exceptions.APIException):
    """An error answered as the problem type ``slug``, with ``detail`` and extension members."""

    def __init__(self, slug: str, detail: str = "", **extensions) -> None:
        self.problem = TYPES[slug]
        self.status_code = self.problem.status
        self.extensions = extensions
        super().__init__(detail or self.problem.title)


def _domain(exc: Exception) -> Problem | None:
    """The problem for a refusal of the domain's services, None for anything else."""
    if isinstance(exc, ImportRejected):
        preview = exc.preview
        errors = [{"index": r.line - 2, "detail": r.error} for r in preview.bad_rows]
        return Problem("bulk-rejected", preview.problem or str(exc), errors=errors)
    if isinstance(exc, InvalidTransition):
        return Problem("invalid-transition", str(exc))
    if isinstance(exc, LinkUnavailable):
        return Problem("link-unavailable", f"This consent link is {exc.reason}.", reason=exc.reason)
    if isinstance(exc, TenantError):
        return Problem("tenant-refused", str(exc))
    if isinstance(exc, AssignmentError):
        return Problem("assignment-refused", str(exc))
    if isinstance(exc, TokenError):
        return Problem("token-refused", str(exc))
    return None


def _field_errors(detail, path: str = "") -> list[dict]:
    """DRF's nested validation detail as a flat list of ``{"field", "detail"}``."""
    if isinstance(detail, dict):
        return [
            e
            for key, value in detail.items()
            for e in _field_errors(value, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            return [{"field": path or None, "detail": str(v)} for v in detail]
        return [
            e
            for i, value in enumerate(detail)
            for e in _field_errors(value, f"{path}[{i}]" if path else f"[{i}]")
        ]
    return [{"field": path or None, "detail": str(detail)}]


_DRF = (
    (exceptions.ValidationError, "validation"),
    (exceptions.ParseError, "malformed-request"),
    (exceptions.NotAuthenticated, "unauthenticated"),
    (exceptions.AuthenticationFailed, "unauthenticated"),
    (exceptions.PermissionDenied, "forbidden"),
    (exceptions.NotFound, "not-found"),
    (exceptions.MethodNotAllowed, "method-not-allowed"),
    (exceptions.NotAcceptable, "not-acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported-media-type"),
    (exceptions.Throttled, "rate-limited"),
)


def _problem_of(exc: Exception) -> Problem | None:
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, Http404):
        return Problem("not-found", "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return Problem("forbidden", str(exc) or TYPES["forbidden"].title)
    domain = _domain(exc)
    if domain is not None:
        return domain
    for cls, slug in _DRF:
        if isinstance(exc, cls):
            if slug == "validation":
                return Problem(slug, "The request is not valid.", errors=_field_errors(exc.detail))
            detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
            problem = Problem(slug, detail)
            problem.status_code = exc.status_code  # e.g. 401 or 403 as DRF decided
            return problem
    return None


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's exception handler, answering problem details. A bug is logged with its traceback
    and answered as ``server-error`` with nothing of the exception in it."""
    problem = _problem_of(exc)
    if problem is None:
        logger.error("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        problem = Problem("server-error", "The error was logged. Please try again later.")
    request = context.get("request")
    body = {
        "type": problem.problem.uri,
        "title": problem.problem.title,
        "status": problem.status_code,
        "detail": str(problem.detail),
        "instance": request.path if request is not None else None,
        **problem.extensions,
    }
    if request_id := get_request_id():
        body["request_id"] = request_id
    headers = {}
    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(int(exc.wait))
    if problem.extensions.get("retry_after"):
        headers["Retry-After"] = str(problem.extensions["retry_after"])
    set_rollback()
    return Response(body, status=problem.status_code, headers=headers, content_type=CONTENT_TYPE)
