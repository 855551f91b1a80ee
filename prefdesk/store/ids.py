"""Time-ordered UUIDv7 strings, so files from different workstations merge without clashes."""

import random
import threading
import time
from datetime import datetime, timezone

_lock = threading.Lock()
_last_ms = 0
_counter = 0
_rand = random.SystemRandom()
_fast = random.Random(_rand.getrandbits(64))


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): 48-bit ms timestamp, 12-bit counter for order within a ms, 62 random bits.

    Ids made by one process sort in creation order even within one millisecond.
    """
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms, _counter = ms, _fast.getrandbits(10)
        else:
            _counter += 1
            if _counter > 0xFFF:  # counter spent: borrow the next millisecond
                _last_ms, _counter = _last_ms + 1, 0
        value = (_last_ms << 80) | (0x7 << 76) | (_counter << 64) | (0b10 << 62) | _fast.getrandbits(62)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def utc_now() -> str:
    """The current UTC time as ISO 8601 with milliseconds and a Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
