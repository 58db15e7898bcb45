"""Free text from customers: offered to each feature in a fixed order until one takes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from telegram import Update

from bot.context import BotContext
from bot.replies import reply
from bot.unit_of_work import INTENT_ATTRIBUTE, Intent
from storage.inbox import Waiting, waiting_for

WAITING = "text_router.waiting"


def waiting(context: BotContext) -> Waiting | None:
    """What the router found waiting for this text; None outside the router (e.g. media): look it up."""
    unit = context.unit
    found = unit.notes.get(WAITING) if unit is not None else None
    return found if isinstance(found, Waiting) else None


# A consumer returns True when the message was for it (a pending answer, an open hand-off, an FAQ match).
TextConsumer = Callable[[Update, BotContext], Awaitable[bool]]


class TextRouter:
    """Dispatches a text message to the first consumer that accepts it; else a helpful default."""

    def __init__(self, consumers: Sequence[TextConsumer]) -> None:
        self.consumers = tuple(consumers)
        # Most text is an FAQ question, answered from a read; a consumer that writes upgrades the unit.
        setattr(self, INTENT_ATTRIBUTE, Intent(writes=False, joins=True))

    async def __call__(self, update: Update, context: BotContext) -> None:
        """Route one customer text message. First, in one statement, whether anything waits for the
        customer's text (`waiting(context)`), so consumers with nothing pending skip their own lookup."""
        customer = context.customer
        if customer is not None and customer.id is not None:
            async with context.uow.reading() as session:
                found = await waiting_for(session, customer_id=customer.id, now=context.clock.now())
            context.uow.notes[WAITING] = found
        for consumer in self.consumers:
            if await consumer(update, context):
                return
        await reply(update, context, "common/not_understood.html")
