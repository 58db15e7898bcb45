"""Telegram customer-engagement bot: the Telegram application, handlers, jobs and domain rules."""
