"""Questions the catalog asks of the inventory (never of a cloud API)."""

from .aws.kinds import CERTIFICATE, RECORD
from .models import ManagedResource
from .resources import AWS
from .scopes import service_key, service_of


def hostname_holders(hostnames: list[str], service: str | None) -> dict[str, str]:
    """Hostnames whose DNS record or certificate still exists in AWS for another service: hostname -> service.

    A service that gave a hostname up keeps its record and certificate until its next apply removes them;
    until then nobody else may claim the name (no takeover of a live record or certificate).
    """
    rows = ManagedResource.objects.filter(provider=AWS, kind__in=[RECORD, CERTIFICATE], name__in=hostnames)
    if service:
        rows = rows.exclude(scope=service_key(service))
    return {name: service_of(scope) for name, scope in rows.values_list("name", "scope")}
