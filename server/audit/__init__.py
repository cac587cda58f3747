"""The audit log of staff, device and system actions."""
