"""Every table; importing this package registers them all on SQLModel.metadata (Alembic reads it)."""

from storage.models.analytics import CohortCell, CustomerDay, CustomerSummary, ShopDay
from storage.models.customers import Customer
from storage.models.orders import Order, OrderStatus
from storage.models.points import Coupon, PointsEntry
from storage.models.surveys import Survey, SurveyKind, SurveyResponse, SurveyState, SurveyTrigger

__all__ = [
    "CohortCell",
    "Coupon",
    "Customer",
    "CustomerDay",
    "CustomerSummary",
    "Order",
    "OrderStatus",
    "PointsEntry",
    "ShopDay",
    "Survey",
    "SurveyKind",
    "SurveyResponse",
    "SurveyState",
    "SurveyTrigger",
]
