"""Static group membership: a restarted consumer takes its partitions back at once.

A dynamic member that dies keeps its partitions until its session expires, and the group
cannot rebalance before that, so a consumer restarted after a crash waited out the whole
session (RELIABILITY.md has the figures). A static member (KIP-345,
``group.instance.id``) that comes back under the same id is handed its old assignment
without a rebalance.

The id must be stable across restarts and unique among the group's live members (the
broker fences the older of two members with one id). Default: ``<hostname>-<slot>``, where
the slot is the lowest number not held by another consumer of the same group on this host
(an abstract unix socket, released by the kernel when its process dies): one consumer per
container gets ``<hostname>-0``; several on one host get distinct slots, and one restarted
after a SIGKILL gets the slot, and so the id, of the one that died.

A replacement may take another slot than the dead one's (a lower one, freed by a clean
stop), so before joining it frees the static memberships of this host's dead slots
(consumer.service.dead_members): no replacement waits out a dead member's session.

A deliberate stop still leaves the group (aiokafka skips LeaveGroup for static members),
so a stopped consumer's partitions move to the others at once instead of after a session.
"""

from __future__ import annotations

import errno
import hashlib
import socket
from typing import Any

from aiokafka import AIOKafkaConsumer

# VINOPS_GROUP_INSTANCE_ID=none turns static membership off (dynamic members, as before).
DISABLED = "none"
_MAX_SLOTS = 1000
_held: list[socket.socket] = []  # claimed slots, held for the life of the process


def instance_id(configured: str | None) -> str:
    """A configured id as the service uses it: "" means dynamic membership."""
    if configured is None or configured.strip().lower() == DISABLED:
        return ""
    return configured.strip()


def resolve(configured: str | None, group_id: str, host: str | None = None) -> str:
    """The configured id, else ``<hostname>-<slot>`` with a slot claimed for this process."""
    if configured:
        return instance_id(configured)
    return f"{host or socket.gethostname()}-{claim_slot(group_id)}"


def claim_slot(group_id: str) -> int:
    """The lowest slot of ``group_id`` free on this host, held until this process exits."""
    for slot in range(_MAX_SLOTS):
        try:
            sock = try_slot(group_id, slot)
        except OSError:
            return 0  # no abstract sockets (not Linux): one consumer per host/container
        if sock is None:
            continue
        _held.append(sock)
        return slot
    raise RuntimeError(f"more than {_MAX_SLOTS} consumers of group {group_id!r} on this host")


def hold(configured_id: str, group_id: str, host: str | None = None) -> bool:
    """A configured id of the form ``<hostname>-<slot>`` holds that slot's lock too: other
    consumers on this host free the ids of free slots as dead (consumer.service.dead_members)."""
    slot = configured_id.removeprefix(f"{host or socket.gethostname()}-")
    if slot == configured_id or not slot.isdigit():
        return False
    try:
        sock = try_slot(group_id, int(slot))
    except OSError:
        return False
    if sock is not None:
        _held.append(sock)
    return sock is not None


def slot_name(group_id: str, slot: int) -> str:
    """The slot lock's abstract socket name (without its leading NUL)."""
    key = hashlib.sha256(group_id.encode()).hexdigest()[:24]
    return f"vinops-ingest/{key}/{slot}"


def try_slot(group_id: str, slot: int) -> socket.socket | None:
    """The slot's lock if no live process holds it (the caller closes it to release the slot),
    None if one does. OSError: this system has no abstract unix sockets."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # Abstract namespace (leading NUL): no file, and freed when the process dies.
        sock.bind(f"\0{slot_name(group_id, slot)}")
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return None
        raise
    return sock


class GroupConsumer(AIOKafkaConsumer):  # type: ignore[misc] # aiokafka is untyped
    """AIOKafkaConsumer that leaves the group on stop() even as a static member."""

    async def stop(self) -> Any:
        coordinator = getattr(self, "_coordinator", None)
        if coordinator is not None and getattr(coordinator, "_group_instance_id", None):
            # aiokafka sends LeaveGroup (by member id, which brokers honour for static members
            # too) only when it believes the member is dynamic.
            coordinator._group_instance_id = None
        return await super().stop()
