"""Devices (kiosks, gates, staff stations): registry, events, telemetry, commands, alarms, visitor counts.

Provisioning rules live in :mod:`.service`, queries in :mod:`.repository`, routes in :mod:`.api`, the
``thuvien device`` command in :mod:`.cli`, Mosquitto-format credentials in :mod:`.passwords`.

Exceptions (:mod:`.errors`)::

    DeviceError (ValueError)
     ├── DeviceNotFound
     ├── DeviceExists
     ├── InvalidDevice
     ├── UnknownLibrary
     └── UnknownCommand
"""
