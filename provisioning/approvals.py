"""Which changes wait for an SRE: exposing a service to the internet, and changing its public names."""

from .spec import EXTERNAL


def _exposure(snapshot: dict) -> dict:
    # Plans stored before the spec had sections hold the exposure's fields at the top level.
    return snapshot.get("exposure") or snapshot


def approval_reasons(snapshot: dict, last_applied: dict | None) -> list[str]:
    """Why this desired state needs an SRE's approval (empty when it doesn't).

    ``snapshot`` and ``last_applied`` are service specs as stored on plans.
    """
    exposure = _exposure(snapshot)
    if exposure.get("level") != EXTERNAL:
        return []
    hostnames = sorted(exposure.get("hostnames") or [])
    before = _exposure(last_applied) if last_applied else {}
    if before.get("level") != EXTERNAL:
        return [f"exposes the service to the internet on {', '.join(hostnames)}"]
    previous = sorted(before.get("hostnames") or [])
    if previous != hostnames:
        return [f"changes the internet-facing hostnames from {', '.join(previous)} to {', '.join(hostnames)}"]
    return []
