"""/survey <type> without a target surveys the whole shop, exactly as `all` does."""

from __future__ import annotations

import pytest

from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.surveys_support import AMIRA, JOHN, LEE, customer_of, started, survey_now, surveys


@pytest.mark.filterwarnings("ignore:Tasks created via:UserWarning")  # the test app is not "running"
async def test_no_target_means_everyone_who_may_be_surveyed(harness):
    for user in (JOHN, AMIRA, LEE):
        await started(harness, user)
    await harness.send(updates.command(LEE, "/stop"))
    await survey_now(harness, (await customer_of(harness, AMIRA)).id, "nps")
    await harness.send(updates.command(MERCHANT, "/survey nps"))
    assert "to 2 customers" in harness.texts_to(MERCHANT)[0]
    done = await harness.api.wait_for(
        lambda call: call.chat_id == MERCHANT.id and "survey done" in (call.text or "")
    )
    assert "1 sent, 1 skipped" in done.text and "0 failed" in done.text, "throttle and opt-out still apply"
    assert sorted((s.customer_id, s.trigger) for s in await surveys(harness)) == sorted(
        [
            ((await customer_of(harness, AMIRA)).id, "merchant"),
            ((await customer_of(harness, JOHN)).id, "merchant"),
        ]
    )


async def test_usage_for_a_bad_type_or_too_many_words(harness):
    await started(harness, JOHN)
    await harness.send(updates.command(MERCHANT, "/survey xyz"))
    assert "Without a target" in harness.last_text_to(MERCHANT)
    await harness.send(updates.command(MERCHANT, f"/survey nps {JOHN.id} extra"))
    assert "/survey nps|csat|ces [member code" in harness.last_text_to(MERCHANT)
    assert await surveys(harness) == []
