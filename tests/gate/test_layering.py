"""gate/ sees typed ports and events only: it never imports pyserial or pyscard itself."""

from __future__ import annotations

import ast
from pathlib import Path

GATE = Path(__file__).resolve().parents[2] / "gate"


def test_gate_never_imports_serial_or_smartcard() -> None:
    offenders = []
    for path in sorted(GATE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("serial", "smartcard")]
    assert offenders == []


def test_no_print_outside_the_cli() -> None:
    for path in sorted(GATE.rglob("*.py")):
        if path.name == "cli.py":
            continue
        calls = [
            node
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
        ]
        assert calls == [], path.name
