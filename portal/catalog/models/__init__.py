from .platform import PlatformSettings
from .service import Exposure, Hostname, Route, Service, Telemetry, Traffic, service_queryset
from .team import Membership, Team

__all__ = [
    "Exposure",
    "Hostname",
    "Membership",
    "PlatformSettings",
    "Route",
    "Service",
    "Team",
    "Telemetry",
    "Traffic",
    "service_queryset",
]
