"""The ledger of a job: every fact already published, so a rewrite publishes only what is new.

An object is identified by its 0-based line index and its `source`/`source-ref`: the index is Ground
Truth's own `datasetObjectId` (worker-response folders are named by it), and the source guards
against a different object appearing at the same index (a manifest built from another input). Only a
63-bit hash of the source is kept, which keeps the ledger small (about 12 bytes an object compressed).
An index whose source changed also keeps the hashes of its earlier sources: an object that comes back
to its index (a rebuilt manifest) was published already, and is not published again.
"""

from __future__ import annotations

import zlib
from enum import StrEnum
from hashlib import blake2b

import msgspec


class FactKind(StrEnum):
    LABELED = "labeled"
    FAILED = "failed"
    INVALID = "invalid"  # an invalid line already reported; attribute is ""
    COMPLETED = "completed"  # the job's completion event; attribute and index unused


def fingerprint(data: str | bytes | None) -> int:
    """A stable 63-bit hash (fits a signed int64 in every store)."""
    raw = data.encode() if isinstance(data, str) else (data or b"")
    return int.from_bytes(blake2b(raw, digest_size=8).digest(), "big") >> 1


class FactKey(msgspec.Struct, frozen=True):
    kind: FactKind
    attribute: str
    index: int
    fingerprint: int


class _Stored(msgspec.Struct, array_like=True):
    version: int
    own_attributes: list[str]
    completed: bool
    # kind -> attribute -> [indexes..., fingerprints...] (two runs: compresses better than pairs)
    facts: dict[str, dict[str, list[int]]]
    # the same for the sources an index had before its latest; an index repeats for each (absent in old ledgers)
    earlier: dict[str, dict[str, list[int]]] = {}


class Ledger(msgspec.Struct):
    version: int = 0
    own_attributes: set[str] = msgspec.field(default_factory=set)
    completed: bool = False
    # The latest source of each index.
    _facts: dict[tuple[str, str], dict[int, int]] = msgspec.field(default_factory=dict)
    _earlier: dict[tuple[str, str], dict[int, list[int]]] = msgspec.field(default_factory=dict)

    def known(self, kind: FactKind, attribute: str, index: int, print_: int) -> bool:
        """Published, and the index's latest object."""
        entries = self._facts.get((kind, attribute))
        return entries is not None and entries.get(index) == print_

    def seen_before(self, kind: FactKind, attribute: str, index: int, print_: int) -> bool:
        """Published, but another object has been at the index since."""
        earlier = self._earlier.get((kind, attribute))
        return earlier is not None and print_ in earlier.get(index, ())

    def add(self, key: FactKey) -> None:
        """Record a fact; it becomes its index's latest."""
        if key.kind is FactKind.COMPLETED:
            self.completed = True
            return
        group = (key.kind, key.attribute)
        entries = self._facts.setdefault(group, {})
        latest = entries.get(key.index)
        entries[key.index] = key.fingerprint
        if latest is not None and latest != key.fingerprint:
            earlier = self._earlier.setdefault(group, {}).setdefault(key.index, [])
            if latest not in earlier:
                earlier.append(latest)
        prints = self._earlier.get(group, {}).get(key.index)
        if prints is not None and key.fingerprint in prints:
            prints.remove(key.fingerprint)

    def count(self, kind: FactKind) -> int:
        return sum(len(entries) for (k, _), entries in self._facts.items() if k == kind)

    def to_bytes(self) -> bytes:
        facts: dict[str, dict[str, list[int]]] = {}
        for (kind, attribute), entries in self._facts.items():
            indexes = sorted(entries)
            facts.setdefault(kind, {})[attribute] = indexes + [entries[i] for i in indexes]
        earlier: dict[str, dict[str, list[int]]] = {}
        for (kind, attribute), by_index in self._earlier.items():
            pairs = [(i, p) for i in sorted(by_index) for p in by_index[i]]
            if pairs:
                earlier.setdefault(kind, {})[attribute] = [i for i, _ in pairs] + [p for _, p in pairs]
        stored = _Stored(self.version, sorted(self.own_attributes), self.completed, facts, earlier)
        return zlib.compress(msgspec.msgpack.encode(stored), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> Ledger:
        stored = msgspec.msgpack.decode(zlib.decompress(data), type=_Stored)
        ledger = cls(stored.version, set(stored.own_attributes), stored.completed)
        for kind, by_attribute in stored.facts.items():
            for attribute, values in by_attribute.items():
                half = len(values) // 2
                ledger._facts[(kind, attribute)] = dict(zip(values[:half], values[half:], strict=True))
        for kind, by_attribute in stored.earlier.items():
            for attribute, values in by_attribute.items():
                half = len(values) // 2
                by_index = ledger._earlier.setdefault((kind, attribute), {})
                for index, print_ in zip(values[:half], values[half:], strict=True):
                    by_index.setdefault(index, []).append(print_)
        return ledger
