"""The API tokens page: issue, list and revoke tokens (plain server-rendered pages).

Operators and admins issue their own tokens, within their role; an admin also issues and
revokes anyone's. Auditors never change anything, as everywhere: an admin issues their
(read-only) tokens. A new token is shown once, on the page after the POST.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from api import tokens
from api.models import ApiToken, Scope
from audit.services import Actor
from portal.models import Role, User
from portal.roles import ALL_ROLES, WRITERS, require_role

SHOWN_TOKEN_KEY = "api.token_to_show"


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “sign-up flow”.")
    scope = forms.ChoiceField(choices=Scope.choices, initial=Scope.READ)
    days = forms.IntegerField(
        label="Valid for (days)", min_value=1, max_value=tokens.MAX_DAYS, initial=90
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text="Admins only: issue it for another operator (default: yourself).",
    )


@require_role(read=ALL_ROLES, write=WRITERS)
def token_list(request):
    user = request.user
    is_admin = user.role == Role.ADMIN
    form = TokenForm(request.POST or None)
    if not is_admin:
        del form.fields["owner"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            issued = tokens.issue_token(
                actor=Actor.from_request(request),
                owner=data.get("owner") or user,
                name=data["name"],
                scope=data["scope"],
                days=data["days"],
            )
        except tokens.TokenError as exc:
            form.add_error(None, str(exc))
        else:
            # Server-side session, taken out by the next page: shown exactly once.
            request.session[SHOWN_TOKEN_KEY] = {"pk": issued.token.pk, "secret": issued.secret}
            return redirect("api:tokens")
    shown = request.session.pop(SHOWN_TOKEN_KEY, None)
    listed = ApiToken.objects.select_related("owner")
    if not is_admin:
        listed = listed.filter(owner=user)
    response = render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "tokens": listed[:500],
            "shown": shown,
            "is_admin": is_admin,
            "can_issue": user.role in WRITERS,
        },
    )
    if shown:
        response["Cache-Control"] = "no-store"
    return response


@require_role(read=WRITERS, write=WRITERS)
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk)
    if token.owner_id != request.user.pk and request.user.role != Role.ADMIN:
        # Not the owner's and not an admin: as if it did not exist.
        return render(request, "404.html", status=404)
    try:
        tokens.revoke_token(actor=Actor.from_request(request), token=token)
    except tokens.TokenError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Token %(token)s revoked.") % {"token": token})
    return redirect("api:tokens")
