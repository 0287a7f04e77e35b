"""The customer admin's pages in the admin's language; the operator's pages stay English."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from audit.services import Actor
from cloudsim import ids
from tenants.actions import consent
from tenants.models import ConsentCheck, CustomerTenant, VerificationLevel

LOCALE = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("de", "fr", "es", "ja")
# What an admin reads first on the landing page, per browser language.
LANDING = {
    "en-GB,en;q=0.9": ("en", "Contoso asks for admin consent", "Continue to Microsoft"),
    "de-DE,de;q=0.9,en;q=0.5": (
        "de",
        "Contoso bittet um Administratoreinwilligung",
        "Weiter zu Microsoft",
    ),
    "fr-FR,fr;q=0.9": (
        "fr",
        "Contoso demande un consentement administrateur",
        "Continuer vers Microsoft",
    ),
    "es-ES,es;q=0.9": (
        "es",
        "Contoso solicita el consentimiento de un administrador",
        "Continuar a Microsoft",
    ),
    "ja-JP,ja;q=0.9": ("ja", "Contoso が管理者の同意を求めています", "Microsoft に進む"),
}
GLOBAL_ADMIN = {
    "en": "Global Administrator",
    "de": "Globaler Administrator",
    "fr": "Administrateur général",
    "es": "Administrador global",
    "ja": "グローバル管理者",
}
# Catalog entries allauth's own catalogs translate (our templates reuse its words).
ALLAUTH_WORDS = {
    "Sign In",
    "Sign in with a passkey",
    "Send me a sign-in code",
    "If you have not created an account yet, then please %(link)ssign up%(end_link)s first.",
    "This mail can be safely ignored if you did not initiate this action.",
    "If it was you, you can sign up for an account using the link below.",
    "You are receiving this email because you, or someone else, tried to access an account "
    "with email %(email)s. However, we do not have any record of such an account in our "
    "database.",
}


@pytest.fixture
def fabrikam_link(operator_user, settings):
    settings.OPERATOR_NAME = "Contoso"
    tenant = CustomerTenant.objects.create(
        tenant_id=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam", primary_domain="fabrikam.example"
    )
    return consent.issue_consent_link(
        actor=Actor.operator(operator_user), tenant=tenant, level=VerificationLevel.DEEP
    )


@pytest.mark.django_db
@pytest.mark.parametrize("accept", list(LANDING))
def test_the_landing_page_follows_the_browsers_language(client, fabrikam_link, accept):
    language, heading, button = LANDING[accept]
    response = client.get(f"/consent/{fabrikam_link.token}/", HTTP_ACCEPT_LANGUAGE=accept)
    page = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in page
    assert response["Content-Language"] == language
    assert "Accept-Language" in response["Vary"]
    assert f"<h1>{heading}</h1>" in page
    assert button in page
    assert GLOBAL_ADMIN[language] in page  # Microsoft's role name, as Microsoft localizes it
    assert "Fabrikam" in page and ids.FABRIKAM_TENANT_ID in page


@pytest.mark.django_db
def test_an_unsupported_language_gets_english(client, fabrikam_link):
    response = client.get(f"/consent/{fabrikam_link.token}/", HTTP_ACCEPT_LANGUAGE="pt-BR,pt")
    assert response["Content-Language"] == "en"
    assert "<h1>Contoso asks for admin consent</h1>" in response.content.decode()


@pytest.mark.django_db
def test_a_declined_consent_is_explained_in_german_and_recorded_in_english(client, fabrikam_link):
    location = client.post(f"/consent/{fabrikam_link.token}/")["Location"]
    state = re.search(r"state=([^&]+)", location).group(1)
    response = client.get(
        "/consent/callback/",
        {
            "error": "access_denied",
            "error_description": "AADSTS65004: User declined to consent to access the app.",
            "state": unquote(state),
        },
        HTTP_ACCEPT_LANGUAGE="de-DE,de",
    )
    page = response.content.decode()
    assert "<h1>Die Einwilligung wurde abgelehnt</h1>" in page
    assert "öffnen Sie den Einwilligungslink erneut" in page and "Contoso" in page
    event = AuditEvent.objects.get(action="consent.declined")
    assert event.details["error_code"] == "AADSTS65004"
    assert "Einwilligung" not in str(event.details)


@pytest.mark.django_db
def test_a_failed_consent_leaves_an_english_finding_for_the_operator(client, fabrikam_link):
    location = client.post(f"/consent/{fabrikam_link.token}/")["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    page = client.get(
        "/consent/callback/",
        {
            "error": "invalid_client",
            "error_description": "AADSTS650052: The app is trying to access a service ...",
            "state": state,
        },
        HTTP_ACCEPT_LANGUAGE="fr-FR",
    ).content.decode()
    assert "Azure Communication Services Clients est absent de votre organisation" in page
    [finding] = ConsentCheck.objects.get().findings
    assert finding["detail"].startswith("Azure Communication Services Clients is missing")


@pytest.mark.django_db
def test_operator_pages_stay_english_whatever_the_browser_says(operator_client, fabrikam_link):
    page = operator_client.get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de").content.decode()
    assert '<html lang="en' in page
    assert ">Dashboard<" in page and "Übersicht" not in page
    assert "Sign out" in page


# The files whose text a customer admin reads in their language: the consent pages, what they
# are built from (base.html, and its nav when an operator signed in opens a link), the consent
# errors they explain (aadsts) and the pages anyone without an account lands on (400-500, the
# sign-in pages and allauth's email). Every catalog entry one of them uses is translated; the
# other entries (operator pages, forms, messages and emails, which stay English) may be empty.
CUSTOMER_FACING = (
    "templates/tenants/consent_",
    "templates/base.html",
    "templates/includes/nav.html",
    "templates/400.html",
    "templates/403.html",
    "templates/404.html",
    "templates/500.html",
    "templates/account/",
    "tenants/consent_views.py",
    "tenants/aadsts.py",
)


@dataclass
class Entry:
    msgid: str
    context: str | None
    msgstrs: list[str]
    files: list[str]


def _entries(po: str) -> list[Entry]:
    """The entries of a .po file (the header and obsolete ``#~`` entries left out)."""
    entries = []
    for block in po.split("\n\n"):
        strings: dict[str, str] = {}
        files: list[str] = []
        key = None
        for line in block.splitlines():
            match = re.match(r'^(msgid|msgid_plural|msgctxt|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                key, value = match.groups()
                strings[key] = value
            elif line.startswith('"') and key:
                strings[key] += line[1:-1]
            elif line.startswith("#: "):
                files += line[3:].split()
        if strings.get("msgid"):
            msgstrs = [v for k, v in strings.items() if k.startswith("msgstr")]
            entries.append(Entry(strings["msgid"], strings.get("msgctxt"), msgstrs, files))
    return entries


def _po(language: str, locale: Path = LOCALE) -> str:
    return (locale / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_the_customer_admins_pages_is_translated(language):
    po = _po(language)
    untranslated = [
        (entry.msgid, entry.files)
        for entry in _entries(po)
        if any(file.startswith(CUSTOMER_FACING) for file in entry.files)
        and entry.msgid.replace('\\"', '"') not in ALLAUTH_WORDS
        and not all(entry.msgstrs)
    ]
    assert "#, fuzzy\nmsgid" not in po.split("\n\n", 1)[1]
    assert untranslated == []


def test_the_catalogs_name_the_files_of_each_entry():
    """Locations by file (``--add-location=file``): the customer-facing test above reads them."""
    entries = _entries(_po("de"))
    assert all(entry.files for entry in entries)
    assert all(":" not in file for entry in entries for file in entry.files)


@pytest.mark.skipif(not shutil.which("msgmerge"), reason="needs GNU gettext")
def test_the_committed_catalogs_hold_every_marked_string(tmp_path, settings, monkeypatch):
    """makemessages on a copy of the tree (so that the committed catalogs stay as they are)
    neither adds an entry nor drops one: a string marked since was not left out."""
    root = LOCALE.parent
    copy = tmp_path / "tree"
    ignore = shutil.ignore_patterns(
        ".*", "__pycache__", "*.egg-info", "node_modules", "var", "staticfiles", "test-artifacts"
    )
    for item in root.iterdir():
        if item.name.startswith(".") or item.name in ("node_modules", "var", "locale"):
            continue
        if item.is_dir():
            shutil.copytree(item, copy / item.name, ignore=ignore)
        elif item.suffix in (".py", ".html", ".txt"):
            shutil.copy(item, copy / item.name)
    for language in LANGUAGES:
        folder = copy / "locale" / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        shutil.copy(LOCALE / language / "LC_MESSAGES" / "django.po", folder)
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command(
        "makemessages",
        *(f"--locale={language}" for language in LANGUAGES),
        "--add-location=file",
        verbosity=0,
    )
    for language in LANGUAGES:
        made = _po(language, copy / "locale")
        committed = {(e.context, e.msgid): e.files for e in _entries(_po(language))}
        current = {(e.context, e.msgid): e.files for e in _entries(made)}
        assert sorted(set(current) - set(committed), key=str) == []  # marked, not in the catalog
        assert sorted(set(committed) - set(current), key=str) == []  # in the catalog, unmarked
        assert current == committed  # and found in the same files
        assert "\n#~ " not in made


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="needs GNU gettext's msgfmt")
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_catalogs_are_compiled_from_the_po_files(language, tmp_path):
    folder = LOCALE / language / "LC_MESSAGES"
    subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(folder / "django.po")],
        check=True,
    )
    assert (tmp_path / "django.mo").read_bytes() == (folder / "django.mo").read_bytes()
