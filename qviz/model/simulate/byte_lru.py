"""ByteLRU: a least-recently-used cache bounded by total bytes and by entries.

    >>> cache = ByteLRU(max_bytes=1000, max_entries=1024)
    >>> cache.put("a", np.zeros(100))     # 800 bytes
    True
    >>> cache.get("b") is None            # None when absent (and a hit marks the entry most recent)
    True
    >>> cache.put("b", np.zeros(50))      # 400 more: over 1000, so the least recently used goes
    True
    >>> cache.nbytes, len(cache), cache.evictions
    (400, 1, 1)

Values are numpy arrays (their .nbytes counts) or anything else with an explicit size:
`put(key, [x, y], nbytes=x.nbytes + y.nbytes)`; `nbytes=0` makes an LRU bounded by entries only
(e.g. of sessions). `peak_nbytes` is the most the cache ever held.

# NOTE: by default the newest entry is always kept, even alone above max_bytes: a single weight
# larger than the budget is then computed once per change instead of once per use. `strict=True`
# (a memory budget that must hold) refuses such an entry instead: `put` returns False.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class ByteLRU:
    """LRU of values with sizes; `nbytes` is the sum of the sizes held (module doc)."""

    def __init__(self, max_bytes: int, max_entries: int, *, strict: bool = False):
        self.max_bytes, self.max_entries, self.strict = max_bytes, max_entries, strict
        self._items: OrderedDict = OrderedDict()  # key -> (value, nbytes)
        self.nbytes = 0
        self.peak_nbytes = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key) -> bool:
        return key in self._items

    def __iter__(self):
        """The keys held, least recently used first."""
        return iter(list(self._items))

    def get(self, key) -> Any:
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key][0]

    def put(self, key, value, nbytes: int | None = None) -> bool:
        """Store `value` as the most recent entry, evicting the least recent ones over the bounds;
        False (nothing stored, `key` dropped) when strict and `value` alone is over max_bytes."""
        size = int(value.nbytes if nbytes is None else nbytes)
        self.discard(key)
        if self.strict and size > self.max_bytes:
            return False
        self._items[key] = (value, size)
        self.nbytes += size
        while len(self._items) > 1 and (self.nbytes > self.max_bytes or len(self._items) > self.max_entries):
            self._evict()
        self.peak_nbytes = max(self.peak_nbytes, self.nbytes)
        return True

    def reserve(self) -> None:
        """Evict least recent entries until one more fits by count (before building a big value)."""
        while self._items and len(self._items) >= self.max_entries:
            self._evict()

    def discard(self, key) -> None:
        """Drop `key` if present (not counted as an eviction)."""
        if key in self._items:
            self.nbytes -= self._items.pop(key)[1]

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0

    def _evict(self) -> None:
        _, (_, size) = self._items.popitem(last=False)
        self.nbytes -= size
        self.evictions += 1
