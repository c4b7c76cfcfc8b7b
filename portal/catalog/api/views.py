from rest_framework import viewsets

from ..filtersets import ServiceFilterSet, TeamFilterSet
from ..models import Team
from .serializers import ServiceSerializer, TeamSerializer, service_queryset


class TeamViewSet(viewsets.ModelViewSet):
    queryset = Team.objects.prefetch_related("memberships__user")
    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    lookup_field = "slug"
    http_method_names = ["get", "post", "patch", "head", "options"]


class ServiceViewSet(viewsets.ModelViewSet):
    queryset = service_queryset()
    serializer_class = ServiceSerializer
    filterset_class = ServiceFilterSet
    lookup_field = "name"
