"""Errors of the devices domain.

Exceptions::

    DeviceError (ValueError)
     ├── DeviceNotFound         no active device with that id
     ├── DeviceExists           the id is taken (also by a retired device: ids are never reused)
     ├── InvalidDevice          an id, kind or argument that cannot be used
     ├── UnknownLibrary         no library with that ISIL
     └── UnknownCommand         not a command devices understand
"""

from __future__ import annotations


class DeviceError(ValueError):
    """Base of the device registry's errors; the message is a sentence for staff."""


class DeviceNotFound(DeviceError):
    pass


class DeviceExists(DeviceError):
    pass


class InvalidDevice(DeviceError):
    pass


class UnknownLibrary(DeviceError):
    pass


class UnknownCommand(DeviceError):
    pass
