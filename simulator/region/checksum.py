"""Content checksums of a workspace's tables, computable batch by batch.

A table's checksum is its row count and a SHA-256 folded over the digests of its
rows in id order, ``BATCH_ROWS`` rows per batch: each batch is hashed as the JSON
array of its rows as stored (JSON columns as their text), and the table digest
hashes those batch digests in turn. A region computes it in one pass over its
file; a transfer computes the same value from the batches it streams, so it needs
no second read of either side to state what it copied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

# Rows per checksum batch, and so per transfer batch: the two must be equal for a
# streamed checksum to match a region's own.
BATCH_ROWS = 5000


def batch_sha256(encoded_rows: bytes) -> str:
    """The digest of one batch, given the JSON array of its rows."""
    return hashlib.sha256(encoded_rows).hexdigest()


def rows_sha256(rows: Sequence[Sequence[Any]]) -> str:
    """The digest of one batch of rows as stored (tuples or lists of values)."""
    return batch_sha256(orjson.dumps(rows))


class TableChecksum:
    """Folds batch digests, in id order, into a table's count and SHA-256."""

    def __init__(self) -> None:
        self.count = 0
        self._fold = hashlib.sha256()

    def add(self, rows: int, digest: str) -> None:
        self.count += rows
        self._fold.update(bytes.fromhex(digest))

    def result(self) -> dict[str, Any]:
        return {"count": self.count, "sha256": self._fold.hexdigest()}
