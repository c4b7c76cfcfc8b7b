"""The API's permission classes: ``portal.catalog.permissions`` asked the way DRF asks.

Every class requires a signed-in, active user first (401 without credentials, 403 when signed in but not
allowed). Object checks run on objects everyone signed in may read, so a refusal is a 403, not a 404.
"""

from rest_framework.permissions import SAFE_METHODS

from portal.core.api import SignedIn

from ..permissions import (
    can_act_on_run,
    can_approve,
    can_change_platform,
    can_edit_team_content,
    can_manage_team,
)


class TeamAccess(SignedIn):
    """Anyone signed in reads teams; owners and SREs change them."""

    message = "Only the team's owners and SREs may change the team."

    def has_object_permission(self, request, view, team) -> bool:
        return request.method in SAFE_METHODS or can_manage_team(request.user, team)


class MembershipAccess(SignedIn):
    """Anyone signed in reads a team's members; its owners and SREs add, change and remove them."""

    message = "Only the team's owners and SREs may change its membership."

    def has_object_permission(self, request, view, team) -> bool:
        return request.method in SAFE_METHODS or can_manage_team(request.user, team)


class ServiceAccess(SignedIn):
    """Anyone signed in reads services; the owning team's members and SREs change, plan and apply them."""

    message = "Only members of the service's team and SREs may do this."
    READ_ACTIONS = ("retrieve", "list", "manifests", "graph", "analysis")

    def has_object_permission(self, request, view, service) -> bool:
        if request.method in SAFE_METHODS and view.action in self.READ_ACTIONS:
            return True
        return can_edit_team_content(request.user, service.team)


class TeamContentAccess(SignedIn):
    """Anyone signed in reads what belongs to a team (its on-call schedule); its members and SREs change it."""

    message = "Only members of the team and SREs may change its on-call schedule."

    def has_object_permission(self, request, view, team) -> bool:
        return request.method in SAFE_METHODS or can_edit_team_content(request.user, team)


class RunAccess(SignedIn):
    """Anyone signed in reads runs; the service's team and SREs cancel them."""

    message = "Only members of the service's team and SREs may cancel its runs."

    def has_object_permission(self, request, view, run) -> bool:
        return request.method in SAFE_METHODS or can_act_on_run(request.user, run)


class ApprovalAccess(SignedIn):
    """Anyone signed in sees what waits for approval; SREs approve and reject."""

    message = "Only platform SREs may approve or reject changes."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and (request.method in SAFE_METHODS or can_approve(request.user))


class PlatformSettingsAccess(SignedIn):
    """Anyone signed in reads the platform settings (secrets masked); SREs change them."""

    message = "Only platform SREs may change the platform settings."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and (
            request.method in SAFE_METHODS or can_change_platform(request.user)
        )


class PlatformAccess(SignedIn):
    """The platform layer's manifests, plan and apply: SREs only."""

    message = "Only platform SREs may do this."

    def has_permission(self, request, view) -> bool:
        return can_change_platform(request.user)
