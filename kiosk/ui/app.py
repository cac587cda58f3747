"""The kiosk screen in Kivy: full-screen, touch-first, large type, high contrast, audio cues.

Only presentation lives here. Every callback posts a :class:`~kiosk.controller.UiAction` to the controller
and every widget is built from the controller's :class:`~kiosk.controller.View`; there is no business rule
in this module. The controller calls back from its own thread, so views are handed to the Kivy thread with
``Clock.schedule_once``.
"""

from __future__ import annotations

import logging
import math
import struct
import wave
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.graphics import Color, Rectangle
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from edge.readers import WedgeCardReader
from kiosk.controller import ItemState, ItemView, KioskController, Screen, UiAction, View
from kiosk.messages import Lang, label

log = logging.getLogger(__name__)

__all__ = ["KioskApp", "DemoTray"]

BG = (0.04, 0.09, 0.18, 1)  # deep navy
PANEL = (0.09, 0.16, 0.29, 1)
WHITE = (1, 1, 1, 1)
MUTED = (0.78, 0.84, 0.93, 1)
GREEN = (0.11, 0.56, 0.24, 1)
RED = (0.78, 0.16, 0.16, 1)
AMBER = (0.96, 0.66, 0.0, 1)
BLUE = (0.10, 0.42, 0.85, 1)
GREY = (0.30, 0.35, 0.45, 1)

STATE_COLOURS = {
    ItemState.DONE: GREEN,
    ItemState.WORKING: AMBER,
    ItemState.IDENTIFIED: BLUE,
    ItemState.WAITING_SET: AMBER,
    ItemState.SECURITY_PENDING: AMBER,
    ItemState.SECURITY_FAILED: RED,
    ItemState.REFUSED: RED,
    ItemState.REMOVED: AMBER,
}


def _paint(widget: Widget, rgba: tuple[float, ...]) -> None:
    with widget.canvas.before:
        Color(*rgba)
        rect = Rectangle(pos=widget.pos, size=widget.size)

    def follow(*_: Any) -> None:
        rect.pos, rect.size = widget.pos, widget.size

    widget.bind(pos=follow, size=follow)


def _label(
    text: str,
    size: float = 28,
    color: tuple[float, ...] = WHITE,
    *,
    bold: bool = False,
    halign: str = "left",
    height: float | None = None,
) -> Label:
    widget = Label(text=text, font_size=f"{size}sp", color=color, bold=bold, halign=halign, valign="middle")
    if height is not None:
        widget.bind(size=lambda w, s: setattr(w, "text_size", (s[0] - 16, None)))
        widget.size_hint_y = None
        widget.height = height
    else:
        # Fills the space its layout gives it; the text wraps to the width and is centred vertically.
        widget.bind(size=lambda w, s: setattr(w, "text_size", (s[0] - 16, s[1])))
    return widget


class KioskButton(Button):  # type: ignore[misc]
    """A large touch target that posts one action (``action_name`` lets tests find it)."""

    def __init__(
        self,
        text: str,
        action_name: str,
        post: Callable[[str, str], None],
        *,
        value: str = "",
        colour: tuple[float, ...] = BLUE,
        font: float = 30,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            text=text,
            font_size=f"{font}sp",
            bold=True,
            background_normal="",
            background_color=colour,
            color=WHITE,
            **kwargs,
        )
        self.action_name = action_name
        self.action_value = value
        self.bind(on_release=lambda *_: post(action_name, self.action_value))


class Keypad(BoxLayout):  # type: ignore[misc]
    """Digits for a card number or a PIN; Enter posts ``action_name`` with what was typed."""

    def __init__(self, action_name: str, post: Callable[[str, str], None], lang: Lang, *, secret: bool) -> None:
        super().__init__(orientation="vertical", spacing=8, size_hint=(None, 1), width=460)
        self.secret = secret
        self.typed = ""
        self.display = _label("", 40, WHITE, bold=True, halign="center", height=80)
        _paint(self.display, PANEL)
        self.add_widget(self.display)
        grid = GridLayout(cols=3, spacing=8)
        for key in ["1", "2", "3", "4", "5", "6", "7", "8", "9"]:
            grid.add_widget(KioskButton(key, "key", self._key, value=key, colour=GREY, font=36))
        grid.add_widget(KioskButton(label("clear", lang), "key", self._key, value="clear", colour=RED, font=24))
        grid.add_widget(KioskButton("0", "key", self._key, value="0", colour=GREY, font=36))
        grid.add_widget(KioskButton(label("enter", lang), action_name, self._enter, colour=GREEN, font=24))
        self.add_widget(grid)
        self._post = post
        self._action = action_name

    def reset(self) -> None:
        self.typed = ""
        self.display.text = ""

    def _key(self, _: str, value: str) -> None:
        self.typed = "" if value == "clear" else (self.typed + value)[:20]
        self.display.text = "•" * len(self.typed) if self.secret else self.typed

    def _enter(self, _: str, __: str) -> None:
        typed, self.typed = self.typed, ""
        self.display.text = ""
        if typed:
            self._post(self._action, typed)


class DemoTray(BoxLayout):  # type: ignore[misc]
    """Demo only: toggles that put simulated items on the simulated pad (a stand-in for real books)."""

    def __init__(self, simulator: Any, tags: list[Any]) -> None:
        super().__init__(orientation="vertical", size_hint=(None, 1), width=300, spacing=4, padding=4)
        _paint(self, (0.15, 0.15, 0.15, 1))
        self.add_widget(_label("DEMO: bàn đọc / pad", 18, AMBER, bold=True, height=36))
        self.simulator = simulator
        for tag in tags:
            button = Button(
                text=tag.label or str(tag.uid),
                font_size="15sp",
                background_normal="",
                background_color=GREY,
                size_hint_y=None,
                height=48,
            )
            button.bind(on_release=lambda b, t=tag: self._toggle(b, t))
            self.add_widget(button)
        self.add_widget(Widget())

    def _toggle(self, button: Button, tag: Any) -> None:
        if tag.present:
            self.simulator.remove(tag.uid)
            button.background_color = GREY
        else:
            self.simulator.place(tag)
            button.background_color = GREEN


def _write_tone(path: Path, notes: list[tuple[float, float]]) -> None:
    rate = 22050
    frames = bytearray()
    for freq, seconds in notes:
        for n in range(int(rate * seconds)):
            fade = min(1.0, (int(rate * seconds) - n) / 400)
            frames += struct.pack("<h", int(12000 * fade * math.sin(2 * math.pi * freq * n / rate)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))


class KioskApp(App):  # type: ignore[misc]
    """The screen. ``controller`` produces views; ``on_view`` (tests) sees each rendered view."""

    def __init__(
        self,
        controller: KioskController,
        *,
        fullscreen: bool = True,
        sound: bool = True,
        sound_dir: Path | None = None,
        demo: tuple[Any, list[Any]] | None = None,
        window_size: tuple[int, int] = (1280, 800),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.window_size = window_size
        self.controller = controller
        self.fullscreen = fullscreen
        self.sound_enabled = sound
        self.sound_dir = sound_dir
        self.demo = demo
        self.title = "thuvien kiosk"
        self.view: View | None = None
        self._rendered_screen: tuple[Screen, str, int] | None = None
        self._cue_serial = 0
        self._sounds: dict[str, Any] = {}
        self.on_view: Callable[[View], None] | None = None
        self.wedge = WedgeCardReader(name="keyboard")
        self._typed_pin = ""
        self._keypads: dict[tuple[str, str], Keypad] = {}

    # -- building ----------------------------------------------------------------------------------------

    def build(self) -> Widget:
        if self.fullscreen:
            Window.fullscreen = "auto"
        else:
            Window.size = self.window_size
        Window.clearcolor = BG
        root = BoxLayout(orientation="horizontal")
        _paint(root, BG)
        self.main = BoxLayout(orientation="vertical", padding=24, spacing=16)
        root.add_widget(self.main)
        if self.demo is not None:
            root.add_widget(DemoTray(*self.demo))
        self._load_sounds()
        Window.bind(on_key_down=self._on_key_down)
        self.controller.subscribe(lambda view: Clock.schedule_once(lambda _dt: self.render(view)))
        return root

    def _on_key_down(self, _window: Any, key: int, _scancode: int, codepoint: str | None, _mods: Any) -> bool:
        """A keyboard-wedge barcode scanner types the card number and Enter into the window."""
        if key in (13, 271):  # Enter, keypad Enter
            keys = "\r"
        elif codepoint and codepoint.isprintable():
            keys = codepoint
        else:
            return False
        if self.view is not None and self.view.screen is Screen.PIN:
            if keys == "\r":
                pin, self._typed_pin = self._typed_pin, ""
                if pin:
                    self.post("pin", pin)
            else:
                self._typed_pin = (self._typed_pin + keys)[:12]
            return True
        for card in self.wedge.feed(keys):
            self.controller.post(card)
        return True

    def _load_sounds(self) -> None:
        if not self.sound_enabled or self.sound_dir is None:
            return
        try:
            from kivy.core.audio import SoundLoader

            self.sound_dir.mkdir(parents=True, exist_ok=True)
            tones = {"success": [(880.0, 0.09), (1320.0, 0.14)], "failure": [(330.0, 0.18), (220.0, 0.3)]}
            for name, notes in tones.items():
                path = self.sound_dir / f"{name}.wav"
                if not path.exists():
                    _write_tone(path, notes)
                sound = SoundLoader.load(str(path))
                if sound is not None:
                    self._sounds[name] = sound
        except Exception:
            log.warning("audio cues unavailable", exc_info=True)

    def post(self, name: str, value: str = "") -> None:
        self.controller.post(UiAction(name, value))

    # -- rendering ---------------------------------------------------------------------------------------

    def render(self, view: View) -> None:
        if self.view is not None and replace(view, serial=0) == replace(self.view, serial=0):
            self.view = view  # nothing visible changed (a timer tick): keep the widgets, and what is typed
            return
        if self.view is None or view.screen is not self.view.screen:
            for keypad in self._keypads.values():
                keypad.reset()  # a new screen (or the next patron) starts with an empty keypad
            self._typed_pin = ""
        self.view = view
        if view.cue_serial != self._cue_serial:
            self._cue_serial = view.cue_serial
            sound = self._sounds.get(view.cue)
            if sound is not None:
                try:
                    sound.play()
                except Exception:
                    log.debug("could not play %s", view.cue)
        self.main.clear_widgets()
        self.main.add_widget(self._top_bar(view))
        if view.offline_text and view.screen is not Screen.NOTICE:
            banner = _label(view.offline_text, 22, (0, 0, 0, 1), bold=True, halign="center", height=64)
            _paint(banner, AMBER)
            self.main.add_widget(banner)
        body = getattr(self, f"_screen_{view.screen.value}")(view)
        self.main.add_widget(body)
        if view.toast:
            toast = _label(view.toast, 24, WHITE, halign="center", height=60)
            _paint(toast, PANEL)
            self.main.add_widget(toast)
        if view.warning_seconds is not None:
            self.main.add_widget(self._warning(view))
        if self.on_view is not None:
            self.on_view(view)

    def _top_bar(self, view: View) -> Widget:
        bar = BoxLayout(size_hint_y=None, height=80, spacing=16)
        title = f"{self.controller.settings.library_name} — {label('title', view.lang)}"
        bar.add_widget(_label(title, 22, MUTED, bold=True, height=80))
        if view.patron_name:
            bar.add_widget(_label(view.patron_name, 26, WHITE, bold=True, halign="right", height=80))
        bar.add_widget(
            KioskButton(
                label("language", view.lang), "language", self.post, colour=GREY, font=22, size_hint_x=None, width=200
            )
        )
        return bar

    def _headline(
        self, view: View, colour: tuple[float, ...] = WHITE, size: float = 40, height: float | None = None
    ) -> Label:
        return _label(view.headline, size, colour, bold=True, halign="center", height=height)

    def _buttons(
        self, view: View, names: list[str], colours: dict[str, tuple[float, ...]] | None = None, height: float = 110
    ) -> BoxLayout:
        row = BoxLayout(size_hint_y=None, height=height, spacing=16)
        for name in names:
            colour = (colours or {}).get(name, BLUE)
            row.add_widget(KioskButton(label(name, view.lang), name, self.post, colour=colour))
        return row

    def _screen_attract(self, view: View) -> Widget:
        body = BoxLayout(orientation="horizontal", spacing=32)
        left = BoxLayout(orientation="vertical", spacing=24)
        left.add_widget(Widget())
        left.add_widget(self._headline(view, size=40, height=170))
        left.add_widget(_label(label("card_number", view.lang), 26, MUTED, halign="center"))
        from kiosk.messages import text

        left.add_widget(_label(text("KIOSK-WELCOME-002", view.lang), 26, MUTED, halign="center"))
        left.add_widget(self._buttons(view, ["return"], {"return": GREEN}, height=120))
        left.add_widget(Widget())
        body.add_widget(left)
        body.add_widget(self._keypad("card", view.lang, secret=False))
        return body

    def _screen_pin(self, view: View) -> Widget:
        body = BoxLayout(orientation="horizontal", spacing=32)
        left = BoxLayout(orientation="vertical")
        left.add_widget(Widget())
        left.add_widget(self._headline(view))
        left.add_widget(Widget())
        left.add_widget(self._buttons(view, ["finish"], {"finish": GREY}))
        body.add_widget(left)
        body.add_widget(self._keypad("pin", view.lang, secret=True))
        return body

    def _keypad(self, action: str, lang: Lang, *, secret: bool) -> Keypad:
        """One keypad per screen and language, kept across renders so that digits typed so far survive."""
        keypad = self._keypads.get((action, lang))
        if keypad is None:
            keypad = self._keypads[(action, lang)] = Keypad(action, self.post, lang, secret=secret)
        elif keypad.parent is not None:
            keypad.parent.remove_widget(keypad)
        return keypad

    def _screen_menu(self, view: View) -> Widget:
        body = BoxLayout(orientation="vertical", spacing=24)
        body.add_widget(self._headline(view))
        grid = GridLayout(cols=2, spacing=24)
        colours = {"borrow": GREEN, "return": BLUE, "renew": BLUE, "account": BLUE}
        for name in ["borrow", "return", "renew", "account"]:
            grid.add_widget(KioskButton(label(name, view.lang), name, self.post, colour=colours[name], font=40))
        body.add_widget(grid)
        body.add_widget(self._buttons(view, ["finish"], {"finish": GREY}))
        return body

    def _item_row(self, item: ItemView) -> Widget:
        row = BoxLayout(size_hint_y=None, height=84, spacing=12, padding=(12, 4))
        _paint(row, PANEL)
        marker = Widget(size_hint_x=None, width=18)
        _paint(marker, STATE_COLOURS.get(item.state, GREY))
        row.add_widget(marker)
        name = item.title + (f"  ({item.parts})" if item.parts else "")
        left = BoxLayout(orientation="vertical")
        left.add_widget(_label(name, 26, WHITE, bold=True, height=44))
        left.add_widget(_label(item.item_id, 18, MUTED, height=28))
        row.add_widget(left)
        status = item.text or "…"
        if item.failure and item.code:
            status += f"  [{item.code}]"
        colour = (1, 0.72, 0.72, 1) if item.failure else ((0.6, 1, 0.7, 1) if item.state is ItemState.DONE else AMBER)
        row.add_widget(_label(status, 22, colour, height=76))
        return row

    def _items(self, view: View) -> Widget:
        scroll = ScrollView()
        column = GridLayout(cols=1, spacing=8, size_hint_y=None)
        column.bind(minimum_height=column.setter("height"))
        for item in view.items:
            column.add_widget(self._item_row(item))
        scroll.add_widget(column)
        return scroll

    def _screen_borrow(self, view: View) -> Widget:
        body = BoxLayout(orientation="vertical", spacing=16)
        body.add_widget(self._headline(view, size=32, height=64))
        body.add_widget(self._items(view))
        body.add_widget(self._buttons(view, ["back", "account", "finish"], {"finish": GREEN, "back": GREY}))
        return body

    def _screen_return(self, view: View) -> Widget:
        body = BoxLayout(orientation="vertical", spacing=16)
        body.add_widget(self._headline(view, size=32, height=64))
        body.add_widget(self._items(view))
        body.add_widget(self._buttons(view, ["finish"], {"finish": GREEN}))
        return body

    def _screen_confirm_count(self, view: View) -> Widget:
        body = BoxLayout(orientation="vertical", spacing=16)
        head = BoxLayout(size_hint_y=None, height=110, spacing=16)
        head.add_widget(_label(str(view.count_to_confirm), 80, WHITE, bold=True, halign="center", height=110))
        head.children[0].size_hint_x = 0.2
        head.add_widget(_label(view.headline, 34, WHITE, bold=True, height=110))
        body.add_widget(head)
        body.add_widget(self._items(view))
        body.add_widget(self._buttons(view, ["confirm_no", "confirm_yes"], {"confirm_yes": GREEN, "confirm_no": RED}))
        return body

    def _screen_renew(self, view: View) -> Widget:
        body = BoxLayout(orientation="vertical", spacing=16)
        body.add_widget(self._headline(view, size=30, height=64))
        scroll = ScrollView()
        column = GridLayout(cols=1, spacing=8, size_hint_y=None)
        column.bind(minimum_height=column.setter("height"))
        done = {i.item_id: i for i in view.items}
        for item_id in view.loans:
            if item_id in done:
                column.add_widget(self._item_row(done[item_id]))
            else:
                title = dict(view.titles).get(item_id, item_id)
                column.add_widget(
                    KioskButton(
                        f"{label('renew', view.lang)}: {title}",
                        "renew_item",
                        self.post,
                        value=item_id,
                        size_hint_y=None,
                        height=90,
                        font=26,
                    )
                )
        scroll.add_widget(column)
        body.add_widget(scroll)
        body.add_widget(
            self._buttons(view, ["back", "renew_all", "account", "finish"], {"finish": GREEN, "back": GREY})
        )
        return body

    def _screen_account(self, view: View) -> Widget:
        body = BoxLayout(orientation="vertical", spacing=16)
        body.add_widget(_label(view.account_text, 30, WHITE, bold=True, halign="center"))
        for key, values in (("loans", view.loans), ("overdue", view.overdue), ("holds", view.holds)):
            if values:
                titles = dict(view.titles)
                names = "; ".join(titles.get(v, v) for v in values)
                body.add_widget(_label(f"{label(key, view.lang)}: {names}", 24, MUTED))
        body.add_widget(Widget())
        body.add_widget(self._buttons(view, ["back", "renew", "finish"], {"finish": GREEN, "back": GREY}))
        return body

    def _screen_receipt(self, view: View) -> Widget:
        body = BoxLayout(orientation="vertical", spacing=24)
        failure = view.headline_code in ("KIOSK-RECEIPT-002", "KIOSK-RECEIPT-004")
        body.add_widget(Widget())
        body.add_widget(self._headline(view, RED if failure else WHITE))
        if failure:
            body.add_widget(_label(f"{label('support', view.lang)}: {view.headline_code}", 22, MUTED, halign="center"))
        body.add_widget(Widget())
        row = BoxLayout(size_hint_y=None, height=130, spacing=16)
        for option in view.receipt_options:
            row.add_widget(
                KioskButton(
                    label(option, view.lang),
                    "receipt",
                    self.post,
                    value=option,
                    colour=GREEN if option == "print" else BLUE,
                )
            )
        body.add_widget(row)
        return body

    def _screen_goodbye(self, view: View) -> Widget:
        body = BoxLayout(orientation="vertical")
        body.add_widget(Widget())
        body.add_widget(self._headline(view, GREEN, size=48))
        body.add_widget(Widget())
        return body

    def _screen_notice(self, view: View) -> Widget:
        body = BoxLayout(orientation="vertical", spacing=24, padding=32)
        _paint(body, (0.35, 0.05, 0.05, 1))
        body.add_widget(Widget())
        body.add_widget(_label(view.notice, 36, WHITE, bold=True, halign="center"))
        body.add_widget(_label(f"{label('support', view.lang)}: {view.notice_code}", 24, MUTED, halign="center"))
        body.add_widget(Widget())
        row = BoxLayout(size_hint_y=None, height=110)
        row.add_widget(KioskButton(label("ok", view.lang), "dismiss", self.post, colour=GREEN))
        body.add_widget(row)
        return body

    def _warning(self, view: View) -> Widget:
        bar = BoxLayout(size_hint_y=None, height=100, spacing=16, padding=8)
        _paint(bar, AMBER)
        bar.add_widget(_label(view.warning_text, 28, (0, 0, 0, 1), bold=True, height=84))
        bar.add_widget(
            KioskButton(
                label("still_here", view.lang), "still_here", self.post, colour=GREEN, size_hint_x=None, width=320
            )
        )
        return bar
