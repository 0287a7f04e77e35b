"""Readable names for the checks in a finding (each check declares its label:
tenants/verification.py)."""

from django import template

register = template.Library()


@register.filter
def check_label(check: str) -> str:
    from tenants.verification import label_of

    return label_of(check)


@register.filter
def cause_label(cause: str) -> str:
    from tenants.verification import CAUSES

    found = CAUSES.get(cause)
    return found.label if found else cause


@register.filter
def cause_revokes(cause: str) -> bool:
    from tenants.verification import CAUSES

    found = CAUSES.get(cause)
    return bool(found and found.revokes)
