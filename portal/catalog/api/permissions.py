from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..permissions import can_edit_team_content, can_manage_team


class TeamAccess(BasePermission):
    """Anyone signed in reads teams; owners and SREs change them."""

    message = "Only the team's owners and SREs may change the team."

    def has_object_permission(self, request, view, team) -> bool:
        return request.method in SAFE_METHODS or can_manage_team(request.user, team)


class ServiceAccess(BasePermission):
    """Anyone signed in reads services; the owning team's members and SREs change, plan and apply them."""

    message = "Only members of the service's team and SREs may do this."
    READ_ACTIONS = ("retrieve", "list", "manifests", "graph")

    def has_object_permission(self, request, view, service) -> bool:
        if request.method in SAFE_METHODS and view.action in self.READ_ACTIONS:
            return True
        return can_edit_team_content(request.user, service.team)
