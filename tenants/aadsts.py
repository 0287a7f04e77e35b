"""What Entra ID's admin consent errors mean, in plain words, and what to do about each.

The answers and codes: docs/microsoft/consent-endpoint.md. The words are translated into the
active language when ``explain`` is called (the customer admin's pages explain in theirs; the
services, findings and audit log run in English).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

ACS_CLIENTS_SP_COMMAND = "az ad sp create --id 2a04943b-b6a7-4f65-8786-2bb6131b59f6"
_CODE_RE = re.compile(r"AADSTS(\d{4,7})")


@dataclass(frozen=True)
class Explanation:
    code: str
    title: str
    meaning: str
    remedy: str
    command: str = ""


def _known() -> dict[str, Explanation]:
    operator = settings.OPERATOR_NAME
    return {
        "AADSTS65004": Explanation(
            "AADSTS65004",
            _("Consent was declined"),
            _(
                "The administrator chose not to grant the permissions. Nothing was changed in "
                "your organization."
            ),
            _(
                "If this was a mistake, open the consent link again and choose Accept, or tell "
                "{operator} that you do not want to continue."
            ).format(operator=operator),
        ),
        "AADSTS650052": Explanation(
            "AADSTS650052",
            _("Azure Communication Services Clients is missing in your organization"),
            _(
                "The app needs the Microsoft application 'Azure Communication Services Clients', "
                "and your organization has no service principal (enterprise application) for it "
                "yet, so consent could not be recorded."
            ),
            _(
                "An administrator creates it once with the Azure CLI (or PowerShell "
                "New-MgServicePrincipal -AppId 2a04943b-b6a7-4f65-8786-2bb6131b59f6), then opens "
                "the consent link again."
            ),
            ACS_CLIENTS_SP_COMMAND,
        ),
        "AADSTS50011": Explanation(
            "AADSTS50011",
            _("The reply address does not match"),
            _(
                "Microsoft refused to send you back because the portal's callback address is not "
                "registered on the app."
            ),
            _(
                "Nothing to do on your side: tell {operator}; their app registration must list "
                "the portal's callback address."
            ).format(operator=operator),
        ),
        "AADSTS700016": Explanation(
            "AADSTS700016",
            _("The application was not found"),
            _(
                "Microsoft does not know the app that asked for consent (wrong tenant or an app "
                "that is not multitenant)."
            ),
            _(
                "Tell {operator}: their app registration must be multitenant and the link must "
                "name your organization."
            ).format(operator=operator),
        ),
        "AADSTS90094": Explanation(
            "AADSTS90094",
            _("An administrator must consent"),
            _(
                "The account you signed in with may not grant these permissions for the whole "
                "organization."
            ),
            _(
                "Sign in as a Global Administrator or Privileged Role Administrator and open the "
                "consent link again. An Application or Cloud Application Administrator cannot "
                "grant Microsoft Graph application permissions: they can accept a standard-level "
                "link, which asks only the VoIP permissions; ask {operator} for one."
            ).format(operator=operator),
        ),
        "AADSTS90008": Explanation(
            "AADSTS90008",
            _("An administrator must consent"),
            _("The signed-in user is not allowed to consent for the organization."),
            _("Sign in as a Global Administrator and open the consent link again."),
        ),
        "AADSTS50020": Explanation(
            "AADSTS50020",
            _("Signed in with an account from another organization"),
            _(
                "The account you used belongs to another organization (or is a personal Microsoft "
                "account), so it cannot consent for this one."
            ),
            _(
                "Sign out of Microsoft, then open the consent link again and sign in with an "
                "administrator account of your own organization."
            ),
        ),
        "AADSTS50034": Explanation(
            "AADSTS50034",
            _("The account does not exist"),
            _("Microsoft did not find the account you signed in with."),
            _(
                "Open the consent link again and sign in with an administrator account of your "
                "organization."
            ),
        ),
        "AADSTS90002": Explanation(
            "AADSTS90002",
            _("Organization not found"),
            _("Microsoft does not know the organization this link was made for."),
            _("Tell {operator}: the tenant id or domain they registered may be wrong.").format(
                operator=operator
            ),
        ),
        "AADSTS900144": Explanation(
            "AADSTS900144",
            _("The request was incomplete"),
            _("The consent request lacked a required parameter."),
            _("Tell {operator}; a new consent link will fix it.").format(operator=operator),
        ),
    }


UNKNOWN = Explanation(
    "",
    gettext_noop("Consent did not complete"),
    gettext_noop("Microsoft reported an error and no permissions were granted."),
    gettext_noop(
        "Open the consent link again; if it keeps failing, send the error code below to the "
        "operator."
    ),
)


def code_from(error: str, description: str) -> str:
    """The AADSTS code of a consent error ('AADSTS65004'), or the OAuth error when none."""
    # The code is on the first line; Trace ID, Correlation ID and Timestamp follow on lines
    # separated by CRLF (docs/microsoft/consent-endpoint.md).
    first = (description or "").splitlines()[0] if description else ""
    match = _CODE_RE.search(first)
    if match:
        return f"AADSTS{match.group(1)}"
    if error == "access_denied":
        return "AADSTS65004"
    return error


def explain(code: str) -> Explanation:
    found = _known().get(code)
    if found:
        return found
    return Explanation(code, _(UNKNOWN.title), _(UNKNOWN.meaning), _(UNKNOWN.remedy))


def is_decline(*, error: str, code: str, subcode: str) -> bool:
    return code == "AADSTS65004" or (error == "access_denied" and subcode == "cancel")
