"""Every table; importing this package registers them all on SQLModel.metadata (Alembic reads it)."""

from storage.models.customers import Customer
from storage.models.faq import FaqEntry, FaqGap, FaqMeta, Handoff, HandoffMessage, HandoffState
from storage.models.orders import Order, OrderStatus
from storage.models.points import Coupon, PointsEntry
from storage.models.referrals import Referral, ReferralCode, ReferralStatus
from storage.models.surveys import Survey, SurveyKind, SurveyResponse, SurveyState, SurveyTrigger

__all__ = [
    "Coupon",
    "Customer",
    "FaqEntry",
    "FaqGap",
    "FaqMeta",
    "Handoff",
    "HandoffMessage",
    "HandoffState",
    "Order",
    "OrderStatus",
    "PointsEntry",
    "Referral",
    "ReferralCode",
    "ReferralStatus",
    "Survey",
    "SurveyKind",
    "SurveyResponse",
    "SurveyState",
    "SurveyTrigger",
]
