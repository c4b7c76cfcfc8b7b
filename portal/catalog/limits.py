"""Bounds on what one service document may hold, so that its rendered objects, its pages and the API's answers stay
small. Each is checked where the document comes in, with a message naming what is bounded."""

from rest_framework import serializers

MAX_DESCRIPTION_LENGTH = 2000
MAX_HOSTNAMES = 50
MAX_PATHS = 50
MAX_ROUTES = 50
MAX_ALLOWED_CALLERS = 100
MAX_EXTERNAL_DEPENDENCIES = 20


def at_most(limit: int, things: str) -> dict[str, str]:
    """``error_messages`` for a list field of at most ``limit`` items."""
    return {"max_length": f"A service has at most {limit} {things}."}


class BoundedManyRelatedField(serializers.ManyRelatedField):
    """A to-many field of at most ``max_length`` items, counted before any of them is looked up in the database (by
    slug, all in one query)."""

    default_error_messages = {"max_length": "At most {max_length} items."}

    def __init__(self, *args, max_length: int, **kwargs) -> None:
        self.max_length = max_length
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, list | tuple) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        child = self.child_relation
        if not isinstance(child, serializers.SlugRelatedField) or not isinstance(data, list | tuple) or not data:
            return super().to_internal_value(data)
        if not all(isinstance(item, str) for item in data):
            return super().to_internal_value(data)
        for item in data:
            if "\x00" in item:  # names nothing (PostgreSQL refuses NUL in text): not looked up
                child.fail("does_not_exist", slug_name=child.slug_field, value=item)
        # Looked up by slug in one query; the first one missing fails as the child would fail it.
        found = {
            getattr(o, child.slug_field): o for o in child.get_queryset().filter(**{f"{child.slug_field}__in": data})
        }
        for item in data:
            if item not in found:
                child.fail("does_not_exist", slug_name=child.slug_field, value=item)
        return [found[item] for item in data]
