"""What the portal posts to a Slack channel: an incoming webhook's JSON, ``text`` (what notifications and clients
without blocks show) and ``blocks`` (what the channel shows), with a link to the portal's page of the matter.

Pure: plain values in, a JSON-ready dict out. Text people or systems wrote (an error, a reason) is escaped the way
Slack's mrkdwn asks (``&``, ``<``, ``>``), so it can neither format the message nor make a link.
"""

from collections.abc import Iterable, Sequence

# Slack refuses a section's text over 3,000 characters; a long error is cut well before that.
MAX_DETAIL = 2500
# At most this many drifted resources are listed by name; the run's page has them all.
MAX_LISTED = 10


def escape(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int = MAX_DETAIL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message(title: str, details: Sequence[str], url: str, link_label: str, *more: tuple[str, str]) -> dict:
    """A message: a bold title, lines of detail (plain text), a link to ``url`` and ``more`` links (url, label)."""
    links = [(url, link_label), *more]
    lines = "\n".join(escape(line) for line in details)
    body = f"*{escape(title)}*" + (f"\n{_cut(lines)}" if lines else "")
    body += "\n" + " · ".join(f"<{href}|{escape(label)}>" for href, label in links)
    return {
        "text": f"{escape(title)}: {url}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": body}},
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": label}, "url": href}
                    for href, label in links
                ],
            },
        ],
    }


def run_failed(subject: str, action: str, run_id: int, error: str, url: str) -> dict:
    return message(
        f"The {action} of {subject} failed (run #{run_id})", [error or "no error was recorded"], url, "Open the run"
    )


def approval_waiting(
    subject: str, run_id: int, reasons: Iterable[str], requested_by: str, approvals_url: str, run_url: str
) -> dict:
    """Linked to the run's place on the approvals page (where SREs approve or reject) and to the run."""
    who = f"Requested by {requested_by}" if requested_by else "Requested by the portal"
    details = [f"It {reason}." for reason in reasons] + [f"{who}; an SRE other than the requester approves it."]
    title = f"An apply of {subject} waits for an SRE's approval (run #{run_id})"
    return message(title, details, approvals_url, "Approve or reject", (run_url, "Open the run"))


def drift_found(subject: str, run_id: int, resources: Sequence[str], url: str) -> dict:
    listed = [f"• {name}" for name in resources[:MAX_LISTED]]
    if len(resources) > MAX_LISTED:
        listed.append(f"… and {len(resources) - MAX_LISTED} more")
    details = ["What exists is no longer what the portal applied:", *listed, "An apply puts it back as declared."]
    return message(f"Drift found in {subject} (run #{run_id})", details, url, "Open the drift check")


def handed_over(team: str, pair: tuple[str, str], before: tuple[str, str], names: dict[str, str], url: str) -> dict:
    """The pair on call changed from ``before`` to ``pair`` (usernames; ``names`` says how to show each)."""

    def holder(role: str, now: str, then: str) -> str:
        line = f"{role}: {names.get(now, now) or 'no one'}"
        return line + (f" (was {names.get(then, then)})" if then and then != now else "")

    details = [
        holder("Incident commander", pair[0], before[0]),
        holder("Resolver", pair[1], before[1]),
        "Alerts name them from now on.",
    ]
    return message(f"On-call hand-over in team {team}", details, url, "Open the schedule")
