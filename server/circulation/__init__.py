"""Circulation: loans, renewals, holds, fees and payments, loan policies."""
