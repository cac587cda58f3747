"""Gate alarms and visitor counts: classifying what a gate reported, and silencing a gate remotely.

Errors::

    AlarmError (ValueError)
     ├── AlarmNotFound
     └── SilenceRefused      a silence request that cannot be sent (unknown gate, bad duration)
"""

from .errors import AlarmError, AlarmNotFound, SilenceRefused

__all__ = ["AlarmError", "AlarmNotFound", "SilenceRefused"]
