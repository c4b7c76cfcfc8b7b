"""One FilterSet per list: the HTML pages and the API filter the same way."""

import django_filters
from django.db.models import Exists, OuterRef, Q

from .choices import ExposureLevel, Lifecycle
from .models import Hostname, Service, Team


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
        # A hostname matches through EXISTS, not a join: a service with several matching hostnames is still one row,
        # without DISTINCT over its whole row (its stored document included).
        hostnames = Hostname.objects.filter(exposure_id=OuterRef("pk"), fqdn__icontains=value)
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value) | Exists(hostnames))
