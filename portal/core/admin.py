"""Pieces every app's admin shares."""


class ReadOnlyMixin:
    """Rows written by the system (runs, plans, the inventory): viewable, never added, edited or deleted by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
