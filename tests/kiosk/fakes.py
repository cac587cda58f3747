"""Test doubles for the kiosk suite: an in-process pad reader and a scripted SIP2 peer with a tiny library."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from dataclasses import dataclass, field

from edge.iso15693 import SystemInfo, Uid
from edge.readers import Capability, InventoryResult, NoTagError
from edge.tags import LibraryTag, encode
from kiosk.ils.codec import checksum, parse_frame


@dataclass
class PadTag:
    uid: Uid
    memory: bytes
    afi: int = 0x07
    eas: bool = True
    present: bool = True


class FakePadReader:
    """A TagReader over virtual tags: place/remove at will, make writes fail on purpose."""

    name = "fake-pad"
    capabilities = frozenset({Capability.INVENTORY, Capability.READ, Capability.AFI, Capability.EAS})

    def __init__(self) -> None:
        self.tags: dict[Uid, PadTag] = {}
        self.lock = threading.RLock()
        self.fail_writes: dict[Uid, int] = {}  # uid -> number of writes that silently do not stick
        self.remove_on_write: set[Uid] = set()  # the patron lifts the book as the write starts
        self.afi_writes: list[tuple[Uid, int]] = []

    def place_item(
        self,
        uid: str,
        item_id: str,
        *,
        owner: str = "VN-HDU",
        part: int | None = None,
        parts: int | None = None,
        title: str | None = None,
        afi: int = 0x07,
    ) -> Uid:
        tag = LibraryTag(
            primary_item_id=item_id,
            owner_isil=owner,
            type_of_usage=1,
            part_number=part,
            parts_in_set=parts,
            format="iso28560-3",
        )
        return self.place_raw(uid, encode(tag, "iso28560-3"), afi=afi)

    def place_raw(self, uid: str, memory: bytes, *, afi: int = 0x07) -> Uid:
        u = Uid.from_hex(uid)
        padded = memory + bytes(112 - len(memory)) if len(memory) < 112 else memory
        with self.lock:
            self.tags[u] = PadTag(u, padded, afi=afi)
        return u

    def remove(self, uid: Uid | str) -> None:
        u = uid if isinstance(uid, Uid) else Uid.from_hex(uid)
        with self.lock:
            self.tags[u].present = False

    def put_back(self, uid: Uid | str) -> None:
        u = uid if isinstance(uid, Uid) else Uid.from_hex(uid)
        with self.lock:
            self.tags[u].present = True

    def clear(self) -> None:
        with self.lock:
            for tag in self.tags.values():
                tag.present = False

    def _tag(self, uid: Uid) -> PadTag:
        tag = self.tags.get(uid)
        if tag is None or not tag.present:
            raise NoTagError(f"no tag {uid} in the field", status=0x01)
        return tag

    def inventory(self, afi: int | None = None) -> list[InventoryResult]:
        with self.lock:
            return [InventoryResult(t.uid) for t in self.tags.values() if t.present and (afi is None or t.afi == afi)]

    def read_blocks(self, uid: Uid, first: int, count: int) -> bytes:
        with self.lock:
            return self._tag(uid).memory[first * 4 : (first + count) * 4]

    def write_blocks(self, uid: Uid, first: int, data: bytes) -> None:
        raise NotImplementedError

    def write_afi(self, uid: Uid, afi: int) -> None:
        with self.lock:
            if uid in self.remove_on_write:
                self.remove_on_write.discard(uid)
                self.tags[uid].present = False
            tag = self._tag(uid)
            self.afi_writes.append((uid, afi))
            if self.fail_writes.get(uid, 0) > 0:
                self.fail_writes[uid] -= 1
                return
            tag.afi = afi

    def set_eas(self, uid: Uid) -> None:
        with self.lock:
            self._tag(uid).eas = True

    def reset_eas(self, uid: Uid) -> None:
        with self.lock:
            self._tag(uid).eas = False

    def eas_alarm(self) -> bool:
        with self.lock:
            return any(t.present and t.eas for t in self.tags.values())

    def system_info(self, uid: Uid) -> SystemInfo:
        with self.lock:
            tag = self._tag(uid)
            return SystemInfo(uid, dsfid=0, afi=tag.afi, block_size=4, block_count=28)

    def set_outputs(self, outputs: dict[int, bool]) -> None:
        pass

    def read_inputs(self) -> dict[int, bool]:
        return {}

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------------------


@dataclass
class LibItem:
    title: str
    on_loan_to: str = ""
    due: dt.date | None = None
    renewals: int = 0
    hold_for: str = ""
    desensitize: str = "Y"  # what the checkout reply says (N: the library wants the item to stay secured)


@dataclass
class LibPatron:
    name: str
    pin: str = "1234"
    blocked: bool = False
    email: str = ""
    fee: int = 0


@dataclass
class MiniLibrary:
    """Just enough of an ACS to drive the kiosk: patrons, items, loans; counts every executed checkout."""

    patrons: dict[str, LibPatron] = field(default_factory=dict)
    items: dict[str, LibItem] = field(default_factory=dict)
    checkouts: list[tuple[str, str, str, str]] = field(default_factory=list)  # patron, item, no_block, txn date
    checkins: list[tuple[str, str]] = field(default_factory=list)
    login_ok: bool = True

    @staticmethod
    def fields(text: str, start: int) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in text[start:].split("|"):
            if len(part) >= 2:
                out.setdefault(part[:2], part[2:])
        return out

    def handle(self, text: str) -> str | None:  # noqa: C901 - one branch per message
        code = text[:2]
        now = dt.datetime.now().strftime("%Y%m%d    %H%M%S")
        if code == "93":
            return "94" + ("1" if self.login_ok else "0")
        if code == "99":
            return "98YYYYNN030003" + now + "2.00AOVN-HDU|BXYYYYYYYYYYYYYYYY|"
        if code == "63":
            f = self.fields(text, 2 + 3 + 18 + 10)
            card = f.get("AA", "")
            p = self.patrons.get(card)
            if p is None:
                return (
                    "64YYYY          000"
                    + now
                    + "000000000000000000000000"
                    + f"AOVN-HDU|AA{card}|AE|BLN|AFUnknown card|"
                )
            status = ("Y" * 4 if p.blocked else " " * 4) + ("Y" if p.blocked else " ") + " " * 9
            loans = [i for i, it in self.items.items() if it.on_loan_to == card]
            holds = [i for i, it in self.items.items() if it.hold_for == card]
            pin_ok = "Y" if f.get("AD", "") == p.pin else "N"
            body = (
                f"64{status}000{now}{len(holds):04d}0000{len(loans):04d}0000{'':4}{'':4}"
                f"AOVN-HDU|AA{card}|AE{p.name}|BLY|CQ{pin_ok}|BHVND|BV{p.fee}|"
            )
            summary = text[2 + 3 + 18 : 2 + 3 + 18 + 10]
            if summary[2:3] == "Y":
                body += "".join(f"AU{i}|" for i in loans)
            if summary[0:1] == "Y":
                body += "".join(f"AS{i}|" for i in holds)
            if p.email:
                body += f"BE{p.email}|"
            if p.blocked:
                body += "AFThẻ bị khoá|"
            return body
        if code == "11":
            no_block = text[3]
            txn = text[4:22]
            f = self.fields(text, 2 + 1 + 1 + 18 + 18)
            card, item_id = f.get("AA", ""), f.get("AB", "")
            item = self.items.get(item_id)
            p = self.patrons.get(card)
            if item is None:
                return f"120NUN{now}AOVN-HDU|AA{card}|AB{item_id}|AJ|AH|AFItem not found|"
            if p is None or (p.blocked and no_block != "Y"):
                return f"120NUN{now}AOVN-HDU|AA{card}|AB{item_id}|AJ{item.title}|AH|AFPatron blocked|"
            if item.on_loan_to and no_block != "Y":
                return f"120NUN{now}AOVN-HDU|AA{card}|AB{item_id}|AJ{item.title}|AH|AFAlready on loan|"
            item.on_loan_to = card
            item.due = dt.date.today() + dt.timedelta(days=14)
            self.checkouts.append((card, item_id, no_block, txn))
            due = item.due.strftime("%Y%m%d    235959")
            return f"121NN{item.desensitize}{now}AOVN-HDU|AA{card}|AB{item_id}|AJ{item.title}|AH{due}|"
        if code == "09":
            f = self.fields(text, 2 + 1 + 18 + 18)
            item_id = f.get("AB", "")
            item = self.items.get(item_id)
            if item is None:
                return f"100NNN{now}AOVN-HDU|AB{item_id}|AQ|AFItem not found|"
            item.on_loan_to = ""
            self.checkins.append((item_id, text[2]))
            alert = "Y" if item.hold_for else "N"
            cv = "CV01|" if item.hold_for else ""
            return f"101YN{alert}{now}AOVN-HDU|AB{item_id}|AQMUON|AJ{item.title}|{cv}"
        if code == "29":
            f = self.fields(text, 2 + 1 + 1 + 18 + 18)
            card, item_id = f.get("AA", ""), f.get("AB", "")
            item = self.items.get(item_id)
            if item is None or item.on_loan_to != card or item.renewals >= 2 or item.hold_for:
                title = item.title if item else ""
                return f"300NUN{now}AOVN-HDU|AA{card}|AB{item_id}|AJ{title}|AH|AFRenewal not allowed|"
            item.renewals += 1
            item.due = (item.due or dt.date.today()) + dt.timedelta(days=14)
            due = item.due.strftime("%Y%m%d    235959")
            return f"301YNY{now}AOVN-HDU|AA{card}|AB{item_id}|AJ{item.title}|AH{due}|"
        if code == "65":
            f = self.fields(text, 2 + 18)
            card = f.get("AA", "")
            ok, bad = [], []
            for item_id, item in self.items.items():
                if item.on_loan_to == card:
                    if item.hold_for or item.renewals >= 2:
                        bad.append(item_id)
                    else:
                        item.renewals += 1
                        ok.append(item_id)
            return (
                f"661{len(ok):04d}{len(bad):04d}{now}AOVN-HDU|"
                + "".join(f"BM{i}|" for i in ok)
                + "".join(f"BN{i}|" for i in bad)
            )
        if code == "17":
            f = self.fields(text, 2 + 18)
            item_id = f.get("AB", "")
            item = self.items.get(item_id)
            if item is None:
                return f"18010001{now}AB{item_id}|AJ|AFItem not found|"
            return f"18030001{now}AB{item_id}|AJ{item.title}|"
        if code == "35":
            f = self.fields(text, 2 + 18)
            return f"36Y{now}AOVN-HDU|AA{f.get('AA', '')}|"
        return "96"


class ScriptedPeer:
    """A raw-socket SIP2 peer on localhost. Replays its last reply to a retransmitted frame, like real ACSs.

    Faults for the next request(s): ``drop`` (execute, never reply), ``corrupt`` (reply with a bad checksum),
    ``resend`` (answer 96 without executing), ``close`` (execute, reply, then close the connection), ``vanish``
    (execute, then close the connection without replying).
    """

    def __init__(self, handler: MiniLibrary | None = None, *, encoding: str = "utf-8") -> None:
        self.library = handler or MiniLibrary()
        self.encoding = encoding
        self.received: list[bytes] = []
        self.faults: list[str] = []
        self.down = False
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            if self.down:
                conn.close()
                continue
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        last: tuple[bytes, bytes] | None = None
        conn.settimeout(0.1)
        while not self._stop.is_set():
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\r" in buffer:
                raw, _, buffer = buffer.partition(b"\r")
                self.received.append(raw)
                if self.down:
                    conn.close()
                    return
                if raw.startswith(b"97"):
                    if last is not None:
                        conn.sendall(last[1])
                    continue
                if last is not None and raw == last[0]:
                    conn.sendall(last[1])
                    continue
                fault = self.faults.pop(0) if self.faults else ""
                if fault == "resend":
                    conn.sendall(b"96AZFEF6\r")
                    continue
                frame = parse_frame(raw, encoding=self.encoding)
                text = frame.raw.decode(self.encoding)
                if frame.sequence is not None:
                    text = text[:-9]
                body = self.library.handle(text)
                if body is None:
                    continue
                reply = self._frame(body, frame.sequence)
                last = (raw, reply)
                if fault == "drop":
                    continue
                if fault == "vanish":  # executed, then the connection breaks before the reply
                    conn.close()
                    return
                if fault == "corrupt":
                    conn.sendall(reply[:-5] + b"0000\r")
                    continue
                conn.sendall(reply)
                if fault == "close":
                    conn.close()
                    return

    def _frame(self, body: str, sequence: int | None) -> bytes:
        data = body.encode(self.encoding)
        if sequence is None:
            return data + b"\r"
        data += f"AY{sequence}AZ".encode()
        return data + checksum(data).encode() + b"\r"

    def kill_connections(self) -> None:
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass
        self._conns.clear()

    def close(self) -> None:
        self._stop.set()
        self.kill_connections()
        self._sock.close()
        self._thread.join(timeout=2)
