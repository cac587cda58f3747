"""Alembic migrations of the server's schema (run with ``thuvien db upgrade``)."""
