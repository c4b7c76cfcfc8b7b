"""Notifications to a team's Slack channel: failed runs, approvals waiting, drift found, on-call hand-overs."""
