"""The Microsoft sign-in callback, extended to read the signed-in user's tenant.

allauth's Microsoft provider reads the profile from Graph ``/me``, which does not carry the
tenant id. The id token from the token endpoint does; we validate it and keep ``tid`` in the
account's extra data so ``SocialAccountAdapter.pre_social_login`` can refuse foreign tenants.
"""

from __future__ import annotations

import logging

from allauth.socialaccount.providers.microsoft.views import MicrosoftGraphOAuth2Adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView

from portal.adapters import tenant_of_id_token
from portal.roles import public


class HomeTenantMicrosoftAdapter(MicrosoftGraphOAuth2Adapter):
    def complete_login(self, request, app, token, **kwargs):
        response = kwargs.get("response") or {}
        try:
            tid = tenant_of_id_token(response.get("id_token", ""))
        except Exception as exc:
            logger.warning("Microsoft id token rejected: %s: %s", type(exc).__name__, exc)
            raise OAuth2Error(f"The id token could not be validated: {type(exc).__name__}") from exc
        login = super().complete_login(request, app, token, **kwargs)
        login.account.extra_data["tid"] = tid
        return login


logger = logging.getLogger(__name__)

oauth2_callback = public(OAuth2CallbackView.adapter_view(HomeTenantMicrosoftAdapter))
