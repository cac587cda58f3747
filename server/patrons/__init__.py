"""Patrons (library users), their cards and blocks."""
