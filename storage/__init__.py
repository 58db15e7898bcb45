"""Persistence: SQLModel tables, the async engine, queries and migrations."""
