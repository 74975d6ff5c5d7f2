"""One MIDAS event's banks, read from its bytes (what `Gateway.event_bytes` returns)."""

from __future__ import annotations

import math
import struct
from typing import Dict, Tuple

# MIDAS type ids -> struct/numpy type codes (little-endian).
TYPES = {1: "u1", 2: "i1", 3: "S1", 4: "u2", 5: "i2", 6: "u4", 7: "i4", 8: "u4", 9: "f4", 10: "f8", 17: "i8", 18: "u8"}
BANK16, BANK32, BANK32A = 0x01, 0x11, 0x31


def banks(event: bytes) -> Dict[str, Tuple[int, bytes]]:
    """The banks of one event: name -> (MIDAS type id, data bytes)."""
    if len(event) < 24:
        raise ValueError("not a MIDAS event: shorter than its headers")
    (data_size,) = struct.unpack_from("<I", event, 12)
    if 16 + data_size > len(event):
        raise ValueError("MIDAS event cut short")
    all_banks, flags = struct.unpack_from("<II", event, 16)
    header = {BANK16: 8, BANK32: 12, BANK32A: 16}.get(flags)
    if header is None:
        raise ValueError(f"unknown MIDAS bank format 0x{flags:x}")
    out: Dict[str, Tuple[int, bytes]] = {}
    at, end = 24, 24 + all_banks
    while at + header <= end:
        name = event[at:at + 4].decode("ascii", "replace")
        if flags == BANK16:
            kind, size = struct.unpack_from("<HH", event, at + 4)
        else:
            kind, size = struct.unpack_from("<II", event, at + 4)
        start = at + header
        out[name] = (kind, event[start:start + size])
        at = start + ((size + 7) & ~7)  # banks are padded to 8 bytes
    return out


def bank_array(event: bytes, name: str):
    """A bank as a numpy array: square banks (camera images) as 2-D, the rest 1-D."""
    import numpy  # only this needs numpy

    found = banks(event)
    if name not in found:
        raise KeyError(f"no bank {name} in this event (banks: {', '.join(found)})")
    kind, data = found[name]
    values = numpy.frombuffer(data, dtype="<" + TYPES.get(kind, "u1"))
    side = math.isqrt(values.size)
    return values.reshape(side, side) if side * side == values.size and side > 1 else values
