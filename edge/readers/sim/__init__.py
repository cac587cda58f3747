"""Protocol-exact reader simulators with virtual ISO 15693 tags (used by the demo and the tests).

- :class:`VirtualTag` — one tag's state, answering ISO 15693 air frames;
- :class:`TagField` — the tags in a reader's field (place / remove / move at run time);
- :class:`ReaderSimulator` — a FEIG or 3M reader on a pty or TCP port, with ``timing`` and fault injection;
- :class:`SimControl` — client for a simulator's control socket;
- :mod:`.vpcd_card` — a virtual PC/SC card for ``pcscd`` + ``vsmartcard-vpcd``.
"""

from .field import FAULT_KINDS, Faults, TagField
from .server import ReaderSimulator, SimControl
from .tag import VirtualTag, afi_matches
from .tagfile import TagFileError, demo_tags, dump_tags, load_tags, save_tags

__all__ = [
    "VirtualTag",
    "TagField",
    "Faults",
    "FAULT_KINDS",
    "ReaderSimulator",
    "SimControl",
    "afi_matches",
    "load_tags",
    "demo_tags",
    "dump_tags",
    "save_tags",
    "TagFileError",
]
