"""Advisors: each reads a PostgreSQL database (read-only) and proposes concrete changes."""
