"""Forged or corrupted survey buttons are refused politely on both databases, never an error."""

from __future__ import annotations

import pytest

from tests.surveys_support import JOHN, last_toast, responses, started, tap


@pytest.mark.parametrize("data", ["sv:99999999999:5", "sv:1:99999999999999999999", "svskip:99999999999"])
async def test_out_of_range_ids_in_button_data_get_a_notice(harness, data):
    await started(harness, JOHN)
    await tap(harness, JOHN, data)  # the harness fails the test if a handler raised
    # The codec bounds ids to the database's INTEGER: the data is no button the bot knows.
    assert last_toast(harness) == "This button is no longer active."
    assert await responses(harness) == []
