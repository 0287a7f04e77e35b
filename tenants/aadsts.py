"""What Entra ID's admin consent errors mean, in plain words, and what to do about each.

The answers and codes: docs/microsoft/consent-endpoint.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

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
            "Consent was declined",
            "The administrator chose not to grant the permissions. Nothing was changed in "
            "your organization.",
            f"If this was a mistake, open the consent link again and choose Accept, or tell "
            f"{operator} that you do not want to continue.",
        ),
        "AADSTS650052": Explanation(
            "AADSTS650052",
            "Azure Communication Services Clients is missing in your organization",
            "The app needs the Microsoft application 'Azure Communication Services Clients', "
            "and your organization has no service principal (enterprise application) for it "
            "yet, so consent could not be recorded.",
            "An administrator creates it once with the Azure CLI (or PowerShell "
            "New-MgServicePrincipal -AppId 2a04943b-b6a7-4f65-8786-2bb6131b59f6), then opens "
            "the consent link again.",
            ACS_CLIENTS_SP_COMMAND,
        ),
        "AADSTS50011": Explanation(
            "AADSTS50011",
            "The reply address does not match",
            "Microsoft refused to send you back because the portal's callback address is not "
            "registered on the app.",
            f"Nothing to do on your side: tell {operator}; their app registration must list "
            "the portal's callback address.",
        ),
        "AADSTS700016": Explanation(
            "AADSTS700016",
            "The application was not found",
            "Microsoft does not know the app that asked for consent (wrong tenant or an app "
            "that is not multitenant).",
            f"Tell {operator}: their app registration must be multitenant and the link must "
            "name your organization.",
        ),
        "AADSTS90094": Explanation(
            "AADSTS90094",
            "An administrator must consent",
            "The account you signed in with may not grant these permissions for the whole "
            "organization.",
            "Sign in as a Global Administrator or Privileged Role Administrator and open the "
            "consent link again. An Application or Cloud Application Administrator cannot "
            "grant Microsoft Graph application permissions: they can accept a standard-level "
            f"link, which asks only the VoIP permissions; ask {operator} for one.",
        ),
        "AADSTS90008": Explanation(
            "AADSTS90008",
            "An administrator must consent",
            "The signed-in user is not allowed to consent for the organization.",
            "Sign in as a Global Administrator and open the consent link again.",
        ),
        "AADSTS50020": Explanation(
            "AADSTS50020",
            "Signed in with an account from another organization",
            "The account you used belongs to another organization (or is a personal Microsoft "
            "account), so it cannot consent for this one.",
            "Sign out of Microsoft, then open the consent link again and sign in with an "
            "administrator account of your own organization.",
        ),
        "AADSTS50034": Explanation(
            "AADSTS50034",
            "The account does not exist",
            "Microsoft did not find the account you signed in with.",
            "Open the consent link again and sign in with an administrator account of your "
            "organization.",
        ),
        "AADSTS90002": Explanation(
            "AADSTS90002",
            "Organization not found",
            "Microsoft does not know the organization this link was made for.",
            f"Tell {operator}: the tenant id or domain they registered may be wrong.",
        ),
        "AADSTS900144": Explanation(
            "AADSTS900144",
            "The request was incomplete",
            "The consent request lacked a required parameter.",
            f"Tell {operator}; a new consent link will fix it.",
        ),
    }


UNKNOWN = Explanation(
    "",
    "Consent did not complete",
    "Microsoft reported an error and no permissions were granted.",
    "Open the consent link again; if it keeps failing, send the error code below to the operator.",
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
    return Explanation(code, UNKNOWN.title, UNKNOWN.meaning, UNKNOWN.remedy)


def is_decline(*, error: str, code: str, subcode: str) -> bool:
    return code == "AADSTS65004" or (error == "access_denied" and subcode == "cancel")
