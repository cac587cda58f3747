"""Reader configuration profiles: TOML schema and validation, FEIG configuration blocks, ``thuvien firmware``.

Errors::

    ProfileError (ValueError)     .problems: every "key.path: reason" found in a profile
"""

from .feig_blocks import feig_blocks
from .profile import MODELS, ROLES, Profile, ProfileError, ReaderModel, load_profile, parse_profile, validate

__all__ = [
    "MODELS",
    "ROLES",
    "Profile",
    "ProfileError",
    "ReaderModel",
    "feig_blocks",
    "load_profile",
    "parse_profile",
    "validate",
]
