"""Which changes wait for an SRE: exposing a service to the internet, and changing its public names."""

# The exposure level that faces the internet (``portal.catalog.choices.ExposureLevel.EXTERNAL``).
INTERNET = "external"


def approval_reasons(snapshot: dict, last_applied: dict | None) -> list[str]:
    """Why this desired state needs an SRE's approval (empty when it doesn't).

    ``snapshot`` and ``last_applied`` are service snapshots as stored on plans.
    """
    if snapshot.get("level") != INTERNET:
        return []
    hostnames = sorted(snapshot.get("hostnames") or [])
    if not last_applied or last_applied.get("level") != INTERNET:
        return [f"exposes the service to the internet on {', '.join(hostnames)}"]
    before = sorted(last_applied.get("hostnames") or [])
    if before != hostnames:
        return [f"changes the internet-facing hostnames from {', '.join(before)} to {', '.join(hostnames)}"]
    return []
