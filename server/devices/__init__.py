"""Devices (kiosks, gates, staff stations): registry, events, telemetry, commands, alarms, visitor counts."""
