"""Survey responses: every score kept with its type, reason and time."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class SurveyKind(StrEnum):
    NPS = "nps"
    CSAT = "csat"
    CES = "ces"


class SurveyResponse(SQLModel, table=True):
    __tablename__ = "survey_responses"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), index=True),
    )
    kind: str = Field(sa_column=Column(String(8), nullable=False, index=True))
    score: int
    reason: str | None = Field(default=None, sa_column=Column(Text))
    answered_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
