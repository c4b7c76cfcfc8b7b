"""Plans and runs as the API answers with them: a service's plan, apply, drift check and delete here, the runs
and approvals endpoints (``portal.runs.api``) with the same shapes."""

from rest_framework import serializers

from provisioning.models import Plan, ProvisioningRun, RunStep
from provisioning.scopes import service_of


def _scope_name(scope: str) -> str:
    return service_of(scope) or scope


class FindingSerializer(serializers.Serializer):
    """One defect the wiring checks found (``provisioning.analyze``; the codes are listed in the README)."""

    code = serializers.CharField(help_text="PA001..., a code keeps its meaning")
    severity = serializers.ChoiceField(choices=["error", "warning"])
    object = serializers.CharField(help_text="Kind/namespace/name (or kind/scope/name of an AWS resource)")
    path = serializers.CharField(help_text="The field of the object")
    message = serializers.CharField()


class AnalysisSerializer(serializers.Serializer):
    findings = FindingSerializer(many=True)


class PlanSerializer(serializers.ModelSerializer):
    findings = FindingSerializer(many=True, read_only=True, help_text="Errors block the apply; warnings do not.")

    service = serializers.SerializerMethodField()

    class Meta:
        model = Plan
        fields = [
            "id",
            "service",
            "action",
            "created_at",
            "catalog_revision",
            "summary",
            "changes",
            "requires_approval",
            "approval_reasons",
            "findings",
        ]

    def get_service(self, plan: Plan) -> str:
        return _scope_name(plan.scope)


class RunStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunStep
        fields = [
            "provider",
            "kind",
            "namespace",
            "name",
            "action",
            "status",
            "error",
            "error_code",
            "started_at",
            "finished_at",
        ]


class RunSerializer(serializers.ModelSerializer):
    service = serializers.SerializerMethodField()
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    plan = PlanSerializer(read_only=True)
    steps = RunStepSerializer(many=True, read_only=True)

    class Meta:
        model = ProvisioningRun
        fields = [
            "id",
            "service",
            "action",
            "status",
            "plan",
            "steps",
            "requested_by",
            "approved_by",
            "approved_at",
            "rejection_reason",
            "force_conflicts",
            "attempts",
            "error",
            "drift_found",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_service(self, run: ProvisioningRun) -> str:
        return _scope_name(run.scope)


class ApplyRequestSerializer(serializers.Serializer):
    plan = serializers.IntegerField(required=False, help_text="Apply this stored plan (planned again if stale).")
    force = serializers.BooleanField(
        default=False, help_text="Take over fields another field manager owns (SREs only)."
    )
