from django.conf import settings


def portal(request) -> dict:
    user = getattr(request, "user", None)
    return {
        "PORTAL_NAME": settings.PORTAL_NAME,
        "OPERATOR_NAME": settings.OPERATOR_NAME,
        "user_can_write": bool(user and user.is_authenticated and user.can_write),
        "user_is_admin": bool(user and user.is_authenticated and user.is_portal_admin),
        "microsoft_sign_in": bool(settings.SOCIALACCOUNT_PROVIDERS["microsoft"]["APPS"]),
        # Pages and emails offer "sign up" only while it is open (allauth's own do regardless).
        "signup_open": bool(settings.ACCOUNT_SIGNUP_OPEN),
    }
