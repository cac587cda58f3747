"""A scripted TagReader for the gate's decision tests: each call takes its answer from a script."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from edge.iso15693 import SystemInfo, Uid
from edge.readers import Capability, InventoryResult, NoTagError, UnsupportedOperationError
from edge.tags import LibraryTag, encode

Answer = list[Uid] | bool | BaseException


class ScriptedReader:
    """``inventories``/``eas`` are consumed one per call (then empty / False); tag memory by UID."""

    name = "scripted"
    capabilities = frozenset({Capability.INVENTORY, Capability.INVENTORY_AFI, Capability.READ, Capability.EAS})

    def __init__(
        self,
        inventories: Iterable[list[Uid] | BaseException] = (),
        eas: Iterable[bool | BaseException] = (),
        memory: dict[Uid, bytes | BaseException] | None = None,
        all_tags: Iterable[list[Uid]] = (),
    ) -> None:
        self.inventories: deque[list[Uid] | BaseException] = deque(inventories)
        self.eas: deque[bool | BaseException] = deque(eas)
        self.all_tags: deque[list[Uid]] = deque(all_tags)
        self.memory = dict(memory or {})
        self.calls: list[str] = []
        self.log: list[str] = []  # shared with the outputs to check the order of operations

    def inventory(self, afi: int | None = None) -> list[InventoryResult]:
        self.calls.append(f"inventory({afi})")
        self.log.append("inventory")
        if afi is None:
            uids = self.all_tags.popleft() if self.all_tags else []
            return [InventoryResult(u, 0, 1) for u in uids]
        answer = self.inventories.popleft() if self.inventories else []
        if isinstance(answer, BaseException):
            raise answer
        return [InventoryResult(u, 0, 2) for u in answer]

    def eas_alarm(self) -> bool:
        self.calls.append("eas")
        self.log.append("eas")
        answer = self.eas.popleft() if self.eas else False
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def read_blocks(self, uid: Uid, first: int, count: int) -> bytes:
        self.calls.append(f"read {uid.hex}")
        self.log.append("read")
        data = self.memory.get(uid)
        if data is None:
            raise NoTagError(f"no {uid.hex}", status=1)
        if isinstance(data, BaseException):
            raise data
        return data[first * 4 : (first + count) * 4]

    def system_info(self, uid: Uid) -> SystemInfo:
        data = self.memory.get(uid)
        if data is None or isinstance(data, BaseException):
            raise NoTagError(f"no {uid.hex}", status=1)
        return SystemInfo(uid, 0, 7, 4, 28)

    def write_blocks(self, uid: Uid, first: int, data: bytes) -> None:
        raise UnsupportedOperationError("scripted")

    def write_afi(self, uid: Uid, afi: int) -> None:
        raise UnsupportedOperationError("scripted")

    def set_eas(self, uid: Uid) -> None:
        raise UnsupportedOperationError("scripted")

    def reset_eas(self, uid: Uid) -> None:
        raise UnsupportedOperationError("scripted")

    def set_outputs(self, outputs: dict[int, bool]) -> None:
        self.log.append("outputs")

    def read_inputs(self) -> dict[int, bool]:
        return {}

    def close(self) -> None:
        return None


def item_memory(barcode: str, owner: str = "VN-HDU") -> bytes:
    data = encode(LibraryTag(primary_item_id=barcode, owner_isil=owner, type_of_usage=1), "iso28560-3")
    return data + bytes(112 - len(data))


class StepClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 100.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds
