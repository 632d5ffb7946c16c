"""The one seam for ids, keys and randomness.

Ids look like the real service's MongoDB ObjectIds: 24 lowercase hex characters whose
first eight are the creation time, so ids grow over time. Everything random comes
from a seeded generator, so the same seed gives the same ids on every machine.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
import threading

ID_PATTERN = re.compile(r"^[0-9a-f]{24}$")
KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 48


def is_object_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value))


def derive_seed(*parts: object) -> int:
    """A stable 64-bit seed from any parts (Python's hash() is salted per process)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def run_seed(seed: int | str, *parts: object, start: int = 0) -> str:
    """A generator's seed: the cluster seed, what it serves, and which start of it.

    The first start on a data directory (``start`` 0) keeps the plain seed, so a
    fresh cluster is reproducible; later starts get a seed of their own.
    """
    base = ":".join(map(str, (seed, *parts)))
    return base if start == 0 else f"{base}:start{start}"


class IdGenerator:
    """Seeded source of object ids and API keys; safe to share between threads."""

    def __init__(self, seed: int | str) -> None:
        self._random = random.Random(derive_seed("ids", seed))
        self._lock = threading.Lock()
        # As in an ObjectId: a random middle fixed per generator and a counter, so
        # ids made in the same second still grow in creation order.
        self._middle = self._random.getrandbits(40)
        self._counter = self._random.getrandbits(16)

    def object_id(self, at: float) -> str:
        """A new id stamped with the simulated time ``at`` (epoch seconds)."""
        with self._lock:
            self._counter = (self._counter + 1) & 0xFFFFFF
            counter = self._counter
        return f"{int(at) & 0xFFFFFFFF:08x}{self._middle:010x}{counter:06x}"

    def api_key(self) -> str:
        """A 48-character alphanumeric API key, the shape real keys have."""
        with self._lock:
            return "".join(self._random.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))

    def token(self, length: int = 32) -> str:
        """An opaque secret for sessions and add-on tokens."""
        with self._lock:
            return "".join(self._random.choice(KEY_ALPHABET) for _ in range(length))

    def fork(self, *parts: object) -> IdGenerator:
        """An independent generator for a sub-task (one per region, per workspace...)."""
        with self._lock:
            base = self._random.getrandbits(64)
        return IdGenerator(derive_seed(base, *parts))
