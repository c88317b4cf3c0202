"""How a file's header names become the JSON keys of its messages: one rule for the producer
that writes them and the consumer's export that turns them back into a file's columns."""

from __future__ import annotations

from collections.abc import Sequence


def message_keys(headers: Sequence[str]) -> tuple[str, ...]:
    """Header names made unique: later duplicates get ``#2``, ``#3``, ..."""
    taken = set(headers)
    used: set[str] = set()
    out: list[str] = []
    for name in headers:
        key, n = name, 1
        # Skip suffixes that a real header of the file already carries.
        while key in used or (key != name and key in taken):
            n += 1
            key = f"{name}#{n}"
        used.add(key)
        out.append(key)
    return tuple(out)
