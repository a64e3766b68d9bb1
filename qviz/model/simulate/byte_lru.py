"""ByteLRU: a least-recently-used cache of arrays bounded by total bytes and by entries.

    >>> cache = ByteLRU(max_bytes=1000, max_entries=1024)
    >>> cache.put("a", np.zeros(100))     # 800 bytes
    >>> cache.get("b") is None            # None when absent (and a hit marks the entry most recent)
    True
    >>> cache.put("b", np.zeros(50))      # 400 more: over 1000, so the least recently used goes
    >>> cache.nbytes, len(cache), cache.evictions
    (400, 1, 1)

# NOTE: the newest entry is always kept, even alone above max_bytes: a single weight larger
# than the budget is then computed once per change instead of once per use.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np


class ByteLRU:
    """LRU of numpy arrays; `nbytes` is the sum of the arrays' .nbytes (module doc)."""

    def __init__(self, max_bytes: int, max_entries: int):
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._items: OrderedDict = OrderedDict()
        self.nbytes = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key) -> bool:
        return key in self._items

    def get(self, key) -> np.ndarray | None:
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key, value: np.ndarray) -> None:
        if key in self._items:
            self.nbytes -= self._items.pop(key).nbytes
        self._items[key] = value
        self.nbytes += value.nbytes
        while len(self._items) > 1 and (self.nbytes > self.max_bytes or len(self._items) > self.max_entries):
            _, old = self._items.popitem(last=False)
            self.nbytes -= old.nbytes
            self.evictions += 1
