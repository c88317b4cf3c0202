"""Size/age batch accumulator: pure, clock injected, so the flush rule is testable.

A batch is due when it holds ``max_size`` messages or its OLDEST message has waited
``max_wait_s``; an empty batch is never due. Fetch order is kept (offsets are contiguous
per partition, which bisecting and offset bookkeeping rely on).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class Batcher(Generic[T]):
    max_size: int
    max_wait_s: float
    _items: list[T] = field(default_factory=list)
    _opened_at: float | None = None

    def __post_init__(self) -> None:
        if self.max_size < 1 or self.max_wait_s <= 0:
            raise ValueError("batch size must be >= 1 and max wait > 0")

    def __len__(self) -> int:
        return len(self._items)

    def add(self, items: Iterable[T], now: float) -> None:
        before = len(self._items)
        self._items.extend(items)
        if before == 0 and self._items:
            self._opened_at = now

    def room(self) -> int:
        """How many more messages fit before the size limit (what to ask getmany for)."""
        return max(self.max_size - len(self._items), 0)

    def due(self, now: float) -> bool:
        if not self._items:
            return False
        if len(self._items) >= self.max_size:
            return True
        return self._opened_at is not None and now - self._opened_at >= self.max_wait_s

    def time_left(self, now: float) -> float:
        """Seconds until the age limit (the whole wait when empty); never negative."""
        if self._opened_at is None or not self._items:
            return self.max_wait_s
        return max(self.max_wait_s - (now - self._opened_at), 0.0)

    def take(self) -> list[T]:
        """Everything accumulated, in arrival order; the batcher is empty afterwards."""
        items, self._items, self._opened_at = self._items, [], None
        return items
