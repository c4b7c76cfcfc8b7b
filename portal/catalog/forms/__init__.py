from .service import STEPS, ServiceWizard
from .team import TeamForm

__all__ = ["STEPS", "ServiceWizard", "TeamForm"]
