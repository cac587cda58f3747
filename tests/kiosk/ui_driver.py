"""Drives the real Kivy kiosk screens (run in a subprocess by test_ui.py, under SDL offscreen or Xvfb).

Usage: python -m tests.kiosk.ui_driver OUT_DIR
Presses the real buttons (their callbacks post to the controller), feeds the fake pad, saves a screenshot
after each step and writes ``results.json`` with the screen seen at each step.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")

from kivy.clock import Clock  # noqa: E402

from kiosk.controller import Tick  # noqa: E402
from kiosk.ils import Sip2Client, Sip2Config  # noqa: E402
from kiosk.ui.app import KioskApp, KioskButton  # noqa: E402
from tests.kiosk.conftest import make_library  # noqa: E402
from tests.kiosk.fakes import FakePadReader, ScriptedPeer  # noqa: E402
from tests.kiosk.harness import Harness  # noqa: E402


def uid(n: int) -> str:
    return f"E00401{n:010X}"


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    library = make_library()
    peer = ScriptedPeer(library)
    client = Sip2Client(
        Sip2Config(
            host="127.0.0.1",
            port=peer.port,
            login="kiosk1",
            password="kiosk1-pass",
            institution="VN-HDU",
            timeout=0.3,
            connect_timeout=0.3,
            retries=1,
        )
    )
    pad = FakePadReader()
    h = Harness(client, pad, out)
    app = KioskApp(h.controller, fullscreen=False, sound=True, sound_dir=out / "sounds")
    results: dict[str, Any] = {"steps": [], "errors": []}

    def press(action: str, value: str | None = None) -> None:
        for widget in app.root.walk():
            if (
                isinstance(widget, KioskButton)
                and widget.action_name == action
                and (value is None or widget.action_value == value)
            ):
                widget.trigger_action(duration=0)
                return
        raise LookupError(f"no button {action!r} {value!r} on screen {h.view.screen}")

    def type_digits(digits: str, enter: str) -> None:
        for d in digits:
            press("key", d)
        if enter != "key":
            press(enter)

    def scan(card: str) -> None:
        """A keyboard-wedge scanner: key presses into the window, then Enter."""
        from kivy.core.window import Window

        for ch in card:
            Window.dispatch("on_key_down", ord(ch), 0, ch, [])
        Window.dispatch("on_key_down", 13, 40, None, [])

    def process(seconds: float = 0.0) -> None:
        h.clock.advance(seconds)
        h.scanner.poll_once()
        h.controller.process_pending()
        h.controller.handle(Tick())

    def place_stack() -> None:
        for n in (1, 2, 3, 4):
            pad.place_item(uid(n), f"3000{n:06d}")
        pad.place_item(uid(6), "3000000006", part=1, parts=2)

    def place_two() -> None:
        pad.place_item(uid(101), "3000000101")
        pad.place_item(uid(102), "3000000102")

    def bad_tags() -> None:
        pad.clear()
        process()
        pad.place_item(uid(1), "3000000001", afi=0xC2)
        pad.place_item(uid(51), "3000000101", owner="VN-HN")
        pad.place_raw(uid(50), b"\x11\xfe\x99not-a-library-format" * 3)
        pad.place_item(uid(52), "9999999999")

    def restore() -> None:
        peer.down = False

    def go_offline() -> None:
        peer.down = True
        peer.kill_connections()

    steps: list[tuple[str, Callable[[], None], str]] = [
        ("01-attract-vi", lambda: None, "attract"),
        ("02-typing", lambda: (type_digits("00010", "key"), process(0.5)), "attract"),
        ("02-menu", lambda: type_digits("00001", "card"), "menu"),
        ("03-borrow-stack", lambda: (press("borrow"), place_stack(), process(), process(1.5)), "borrow"),
        ("04-borrow-en", lambda: press("language"), "borrow"),
        ("05-receipt", lambda: press("finish"), "receipt"),
        ("06-goodbye", lambda: (press("receipt", "print"), pad.clear()), "goodbye"),
        ("07-attract-again", lambda: process(5), "attract"),
        ("08-blocked-patron", lambda: type_digits("0001000004", "card"), "notice"),
        ("09-dismissed", lambda: press("dismiss"), "attract"),
        ("10-return-bad-tags", lambda: (press("return"), bad_tags(), process()), "return"),
        ("11-timeout-warning", lambda: process(50), "return"),
        ("12-timed-out", lambda: (process(20), process(5)), "attract"),
        ("13-offline", lambda: (go_offline(), scan("0001000002")), "notice"),
        ("14-offline-banner", lambda: press("dismiss"), "attract"),
        ("15-back-online", lambda: (restore(), process(11)), "attract"),
        ("16-menu-again", lambda: scan("0001000001"), "menu"),
        ("17-renew", lambda: press("renew"), "renew"),
        ("18-renewed", lambda: press("renew_item", "3000000002"), "renew"),
        ("19-account", lambda: (press("language"), press("account")), "account"),
        ("20-receipt", lambda: press("finish"), "receipt"),
        ("21-goodbye", lambda: press("receipt", "none"), "goodbye"),
        ("22-attract", lambda: (pad.clear(), process(5), h.controller.replace_settings(confirm_count=True)), "attract"),
        ("23-menu", lambda: scan("0001000002"), "menu"),
        ("24-confirm-count", lambda: (press("borrow"), place_two(), process(), process(1.5)), "confirm_count"),
    ]
    index = 0

    frames = {"left": 0}

    def settled(then: Callable[[float], None]) -> Callable[[float], None]:
        """Wait until the screen shows the controller's latest view, then a few frames for the layout."""

        def check(_dt: float) -> None:
            rendered = app.view is not None and app.view.serial == h.controller.view.serial
            if not rendered:
                frames["left"] = 4
                Clock.schedule_once(check, 0.05)
            elif frames["left"] > 0:
                frames["left"] -= 1
                Clock.schedule_once(check, 0.05)
            else:
                then(0)

        return check

    def run_step(_dt: float) -> None:
        nonlocal index
        if index > 0:
            name, _, expected = steps[index - 1]
            path = out / f"{name}.png"
            app.root.export_to_png(str(path))
            seen = app.view.screen.value if app.view else "?"
            results["steps"].append(
                {
                    "name": name,
                    "expected": expected,
                    "seen": seen,
                    "png": str(path),
                    "lang": app.view.lang if app.view else "?",
                    "codes": [i.code for i in app.view.items] if app.view else [],
                    "notice": app.view.notice_code if app.view else "",
                }
            )
        if index >= len(steps):
            app.stop()
            return
        name, action, _ = steps[index]
        index += 1
        try:
            action()
            process()
        except Exception:
            results["errors"].append(f"{name}: {traceback.format_exc()}")
        frames["left"] = 4
        Clock.schedule_once(settled(run_step), 0.1)

    frames["left"] = 6
    Clock.schedule_once(settled(run_step), 0.5)
    try:
        app.run()
    finally:
        client.close()
        peer.close()
    results["sounds"] = sorted(p.name for p in (out / "sounds").glob("*.wav"))
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), "utf-8")
    return 0 if not results["errors"] else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
