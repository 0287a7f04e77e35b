"""How the OpenAPI document describes the API's authentication (drf-spectacular extensions)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

PROBLEM_MEDIA_TYPE = "application/problem+json"
# The errors any operation may answer, and those of operations that change something.
EVERY_OPERATION = (400, 401, 403, 404, 406, 429)
CHANGES = (405, 409, 410, 412, 415, 422, 428)


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the problem details every operation can answer."""

    def _is_list_view(self, serializer=None) -> bool:
        if getattr(self.view, "one_object", False):
            return False
        return super()._is_list_view(serializer)

    def _get_response_bodies(self, direction="response"):
        from api.serializers import ProblemSerializer

        bodies = super()._get_response_bodies(direction)
        codes = EVERY_OPERATION + (() if self.method in ("GET", "HEAD") else CHANGES)
        for code in codes:
            bodies.setdefault(
                str(code),
                self._get_response_for_code(
                    ProblemSerializer, str(code), media_types=[PROBLEM_MEDIA_TYPE]
                ),
            )
        return bodies


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.TokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (acsp_…) from the portal's API tokens page.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.SessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A signed-in portal session (the browsable docs); writes need the "
            "X-CSRFToken header.",
        }
