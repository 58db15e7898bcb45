"""Every table; importing this package registers them all on SQLModel.metadata (Alembic reads it)."""

from storage.models.customers import Customer
from storage.models.orders import Order, OrderStatus
from storage.models.outreach import (
    Broadcast,
    BroadcastState,
    Campaign,
    CustomerOutreach,
    OutboxMessage,
    OutboxState,
)
from storage.models.points import Coupon, PointsEntry
from storage.models.surveys import Survey, SurveyKind, SurveyResponse, SurveyState, SurveyTrigger

__all__ = [
    "Broadcast",
    "BroadcastState",
    "Campaign",
    "Coupon",
    "Customer",
    "CustomerOutreach",
    "Order",
    "OrderStatus",
    "OutboxMessage",
    "OutboxState",
    "PointsEntry",
    "Survey",
    "SurveyKind",
    "SurveyResponse",
    "SurveyState",
    "SurveyTrigger",
]
