"""/forgetme erases what identifies the customer everywhere, not only on the customer row."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Order, Survey
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.loyalty_helpers import ingest
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
