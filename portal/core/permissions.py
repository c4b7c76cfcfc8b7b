"""Who someone is, as the rules ask it (``portal.catalog.permissions`` holds the rules about teams and services)."""


def is_signed_in(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_sre(user) -> bool:
    return is_signed_in(user) and bool(getattr(user, "is_sre", False))


def can_read_audit_log(user) -> bool:
    return is_sre(user)
