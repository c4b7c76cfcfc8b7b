"""One FilterSet per list: the HTML pages and the API filter the same way."""

import django_filters
from django.db.models import Q

from .choices import ExposureLevel, Lifecycle
from .models import Service, Team


class TeamFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")

    class Meta:
        model = Team
        fields = ["q"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(slug__icontains=value) | Q(name__icontains=value))


class ServiceFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    team = django_filters.CharFilter(field_name="team__slug", label="Team")
    lifecycle = django_filters.ChoiceFilter(choices=Lifecycle.choices)
    exposure = django_filters.ChoiceFilter(field_name="exposure__level", choices=ExposureLevel.choices)

    class Meta:
        model = Service
        fields = ["q", "team", "lifecycle", "exposure"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(description__icontains=value) | Q(exposure__hostnames__fqdn__icontains=value)
        ).distinct()
