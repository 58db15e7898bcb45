"""/forgetme erases what identifies the customer everywhere, not only on the customer row."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Order, PointsEntry, Survey
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.loyalty_helpers import balance, ingest
from tests.surveys_support import started, survey_now

NADA = TgUser(id=7101, first_name="Nada", language_code="en")
PHONE = "+966501234567"


async def test_forgetme_clears_the_phone_on_orders_and_the_telegram_id_on_surveys(harness, settings):
    # An order the shop filed under her phone before she joined, linked when she shares it.
    await ingest(harness.db, settings, "A-1", 2000, customer_ref=PHONE)
    customer_id = await started(harness, NADA)
    await harness.send(updates.contact(NADA, PHONE))
    assert await survey_now(harness, customer_id, "nps") == "sent"
    async with harness.db.read_session() as session:
        order = (await session.exec(select(Order).where(Order.external_id == "A-1"))).one()
        survey = (await session.exec(select(Survey))).one()
    assert (order.customer_id, order.customer_ref) == (customer_id, PHONE)
    assert survey.chat_id == NADA.id

    await harness.send(updates.command(NADA, "/forgetme"))
    await harness.send(updates.callback(NADA, "forget:yes"))

    async with harness.db.read_session() as session:
        order = (await session.exec(select(Order).where(Order.external_id == "A-1"))).one()
        survey = (await session.exec(select(Survey))).one()
    assert order.customer_id == customer_id and order.amount_minor == 2000  # figures stay
    assert order.customer_ref is None
    assert (survey.chat_id, survey.message_id, survey.awaiting_reason_until) == (None, None, None)
    assert survey.kind == "nps"


async def test_forgetme_and_start_again_does_not_pay_the_welcome_bonus_twice(harness, settings):
    first_id = await started(harness, NADA)
    assert (await balance(harness.db, settings, first_id)).available == 50
    await harness.send(updates.command(NADA, "/forgetme"))
    await harness.send(updates.callback(NADA, "forget:yes"))

    second_id = await started(harness, NADA)
    assert second_id != first_id
    await harness.send(updates.command(NADA, "/balance"))
    assert (await balance(harness.db, settings, second_id)).available == 0
    async with harness.db.read_session() as session:
        keys = (await session.exec(select(PointsEntry.idempotency_key))).all()
    assert not any(str(NADA.id) in key for key in keys)  # the marker does not hold the Telegram id

    # Someone else still gets theirs.
    other_id = await started(harness, TgUser(id=7102, first_name="Omar"))
    assert (await balance(harness.db, settings, other_id)).available == 50
