"""Hand-off end to end with the real `python -m bot run` process and a loopback fake Bot API: the
conversation is opened by one process and answered and closed after a restart, by another.

The run itself is tests/e2e_support.py:polling_run, shared with test_e2e's welcome test (each bot start
costs seconds); this test asserts every step of it."""

from __future__ import annotations

from tests.conftest import MERCHANT


def test_hand_off_relays_both_ways_across_a_restart(polling_run):
    assert "Welcome" in polling_run["john_welcome"]
    assert "I want to talk to a human" in polling_run["alert"]
    assert "passed your question to our team" in polling_run["handed_off"]
    assert polling_run["first_exit"] == 0
    assert len(polling_run["relayed"]) == 1
    # After the restart, by the second process:
    assert int(polling_run["copy"].params["from_chat_id"]) == MERCHANT.id
    assert "My order 1042 is late" in polling_run["relayed_text"]
    assert "closed this conversation" in polling_run["closed_to_customer"]
    assert "Conversation #1 is closed" in polling_run["closed_to_staff"]
    assert polling_run["second_exit"] == 0
