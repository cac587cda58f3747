"""Shared fixtures for the RFID stack tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"


def load_vectors() -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DATA / "rfid_vectors.json").read_text(encoding="utf-8"))
    return result


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    return load_vectors()
