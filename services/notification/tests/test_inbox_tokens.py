"""Inbox tokens: each opens exactly one organisation's inbox, and only with the platform's key."""

from __future__ import annotations

from notification.inbox_tokens import issue, org_of

SECRET = "inbox-key"


def test_a_token_opens_the_inbox_it_was_issued_for() -> None:
    token = issue(SECRET, "610526-edu-0007")
    assert token.startswith("gri_610526-edu-0007.")
    assert org_of(SECRET, token) == "610526-edu-0007"


def test_an_id_with_dots_is_kept_whole() -> None:
    assert org_of(SECRET, issue(SECRET, "county.610526/edu:7")) == "county.610526/edu:7"


def test_a_changed_org_a_changed_signature_or_another_key_opens_nothing() -> None:
    token = issue(SECRET, "610526-edu-0007")
    signature = token.rpartition(".")[2]
    assert org_of(SECRET, f"gri_610526-edu-0008.{signature}") is None
    assert org_of(SECRET, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert org_of("another-key", token) is None
    for nonsense in ("", "gri_", "gri_.", "gr_abc", "gri_no-signature", token.removeprefix("gri_")):
        assert org_of(SECRET, nonsense) is None
