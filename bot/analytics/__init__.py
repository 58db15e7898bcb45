"""Merchant analytics: retention figures, cohorts, charts and CSV export over the order rollups."""
