from .service import STEPS, ServiceWizard
from .team import MemberForm, TeamForm

__all__ = ["STEPS", "MemberForm", "ServiceWizard", "TeamForm"]
