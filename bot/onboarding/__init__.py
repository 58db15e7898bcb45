"""Onboarding: /start, /help, /language, /stop, /forgetme and block tracking."""
