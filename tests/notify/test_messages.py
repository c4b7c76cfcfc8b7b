"""The messages themselves: Slack's incoming-webhook JSON, with text people wrote shown literally."""

from portal.notify import messages

URL = "https://portal.example.com/runs/7/"


def test_a_message_has_text_blocks_and_the_link():
    body = messages.run_failed("ledger", "apply", 7, "AccessDenied on route53:ChangeResourceRecordSets", URL)
    assert body["text"] == f"The apply of ledger failed (run #7): {URL}"
    section, actions = body["blocks"]
    assert section["text"] == {
        "type": "mrkdwn",
        "text": "*The apply of ledger failed (run #7)*\n"
        f"AccessDenied on route53:ChangeResourceRecordSets\n<{URL}|Open the run>",
    }
    assert actions["elements"][0]["url"] == URL


def test_text_from_errors_cannot_format_or_link():
    body = messages.run_failed("ledger", "apply", 7, "<https://evil.example|click> & <!channel>", URL)
    text = body["blocks"][0]["text"]["text"]
    assert "&lt;https://evil.example|click&gt; &amp; &lt;!channel&gt;" in text
    assert "<!channel>" not in text and "<https://evil" not in text


def test_a_long_error_is_cut_below_slacks_limit():
    body = messages.run_failed("ledger", "apply", 7, "x" * 10_000, URL)
    assert len(body["blocks"][0]["text"]["text"]) < 3000


def test_an_approval_names_the_reasons_the_requester_and_links_the_approvals_page_and_the_run():
    approvals = "https://portal.example.com/approvals/#approval-9"
    body = messages.approval_waiting(
        "shop", 9, ["exposes the service to the internet on shop.example.com"], "olivia", approvals, URL
    )
    text = body["blocks"][0]["text"]["text"]
    assert text.startswith("*An apply of shop waits for an SRE's approval (run #9)*\n")
    assert "It exposes the service to the internet on shop.example.com." in text
    assert "Requested by olivia" in text
    assert text.endswith(f"<{approvals}|Approve or reject> · <{URL}|Open the run>")
    assert body["text"].endswith(approvals)
    assert [b["url"] for b in body["blocks"][1]["elements"]] == [approvals, URL]


def test_drift_lists_at_most_ten_resources():
    body = messages.drift_found("ledger", 3, [f"ConfigMap ledger/c{i}: update" for i in range(12)], URL)
    text = body["blocks"][0]["text"]["text"]
    assert "• ConfigMap ledger/c9: update" in text and "c10" not in text
    assert "… and 2 more" in text


def test_a_hand_over_names_both_roles_and_who_held_them():
    names = {"alice": "alice (alice@example.com)", "bob": "bob (bob@example.com)"}
    body = messages.handed_over("Payments", ("alice", "carol"), ("bob", "carol"), names, URL)
    text = body["blocks"][0]["text"]["text"]
    assert "Incident commander: alice (alice@example.com) (was bob (bob@example.com))" in text
    assert "Resolver: carol\n" in text  # unchanged: no "was"
    body = messages.handed_over("Payments", ("", ""), ("alice", "carol"), names, URL)
    assert "Incident commander: no one (was alice (alice@example.com))" in body["blocks"][0]["text"]["text"]
