"""Surveys (NPS, CSAT, CES): score formulas, sending with throttling, and the scheduled triggers."""
