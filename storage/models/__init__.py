"""Every table; importing this package registers them all on SQLModel.metadata (Alembic reads it)."""

from storage.models.analytics import CohortCell, CustomerDay, CustomerSummary, ShopDay
from storage.models.customers import Customer
from storage.models.faq import FaqAnswerVote, FaqEntry, FaqGap, FaqMeta, Handoff, HandoffMessage, HandoffState
from storage.models.orders import Order, OrderStatus
from storage.models.outreach import (
    Broadcast,
    BroadcastState,
    Campaign,
    CustomerOutreach,
    OutboxMessage,
    OutboxState,
)
from storage.models.points import Coupon, PointsEntry, RedeemToken
from storage.models.referrals import Referral, ReferralCode, ReferralStatus
from storage.models.surveys import Survey, SurveyKind, SurveyResponse, SurveyState, SurveyTrigger

__all__ = [
    "Broadcast",
    "BroadcastState",
    "Campaign",
    "CohortCell",
    "Coupon",
    "Customer",
    "CustomerDay",
    "CustomerOutreach",
    "CustomerSummary",
    "FaqAnswerVote",
    "FaqEntry",
    "FaqGap",
    "FaqMeta",
    "Handoff",
    "HandoffMessage",
    "HandoffState",
    "Order",
    "OrderStatus",
    "OutboxMessage",
    "OutboxState",
    "PointsEntry",
    "RedeemToken",
    "Referral",
    "ReferralCode",
    "ReferralStatus",
    "ShopDay",
    "Survey",
    "SurveyKind",
    "SurveyResponse",
    "SurveyState",
    "SurveyTrigger",
]
