"""Outreach: birthdays, win-back, broadcasts and the outbox that sends them exactly once, paced."""
