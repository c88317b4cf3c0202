"""Free the static memberships of this host's dead consumers: none waits out a session.

A static member that dies keeps its partitions until its session expires (45 s by default):
its id is still a member, and only a member coming back under that same id takes them back
at once. A replacement takes the lowest free slot (consumer.config.membership), which after a
clean stop of a lower slot is not the dead one's, so it would wait out the whole session.

So a starting consumer removes, by instance id (KIP-345: LeaveGroup v3+ lists members by
``group_instance_id``), every member of its group named ``<this host>-<slot>`` whose slot
lock no live process holds, its own predecessor included. The dead slots' locks stay held
until the LeaveGroup is answered: a consumer starting meanwhile cannot claim such a slot,
join under its id and be removed by mistake. A running member does the same every few
seconds (``keep_freeing``): a member killed and not replaced no longer holds its partitions,
and so a draining group (``--exit-when-idle``), for a whole session.

aiokafka 0.14 knows DescribeGroups up to v3 (no instance ids) and LeaveGroup up to v1 (one
member id), so both requests are declared here from its protocol structs (aiokafka is pinned
exactly; tests/unit/consumer/service/test_dead_members.py checks the encoding).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Bytes, Int16, Int32, Schema, String

from consumer.config import membership
from consumer.observe.logs import ctx
from feed.kafka_security import KafkaSecurity

log = logging.getLogger(__name__)

FREE_TIMEOUT_S = 15.0  # start-up goes on without the clean-up after this long
WATCH_INTERVAL_S = 5.0  # a running member looks for dead ones this often


def dead_ids(
    members: Iterable[str | None],
    host: str,
    own_id: str,
    held: Callable[[int], bool],
    *,
    joined: bool = False,
) -> list[str]:
    """The members to remove: ``<host>-<slot>`` ids whose slot is not ``held`` by a live
    process. ``own_id`` before joining is a dead predecessor; once joined, it is us."""
    prefix = f"{host}-"
    dead = []
    for member in dict.fromkeys(m for m in members if m):
        slot = member.removeprefix(prefix)
        if member == slot or not slot.isdigit():
            continue  # another host's, or a configured id
        if member == own_id:
            if not joined:
                dead.append(member)
        elif not held(int(slot)):
            dead.append(member)
    return dead


CLOSE_TIMEOUT_S = 2.0


async def free_dead_members(
    bootstrap: str,
    group_id: str,
    own_id: str,
    security: KafkaSecurity,
    *,
    joined: bool = False,
    host: str | None = None,
    failure_level: int = logging.WARNING,
) -> list[str]:
    """Remove this host's dead static members of ``group_id``; the ids removed. Never raises:
    a failure is logged and start-up goes on (the dead members then time out as before)."""
    host = host or socket.gethostname()
    try:
        async with asyncio.timeout(FREE_TIMEOUT_S):
            return await _free(bootstrap, group_id, own_id, security, host, joined=joined)
    except Exception as exc:  # noqa: BLE001 - a clean-up that must not stop start-up
        log.log(failure_level, "dead group members not freed: %s: %s", type(exc).__name__, exc)
        return []


async def keep_freeing(
    bootstrap: str,
    group_id: str,
    own_id: str,
    security: KafkaSecurity,
    interval_s: float = WATCH_INTERVAL_S,
) -> None:
    """While this consumer runs: a member of this host that dies and is not replaced is
    freed within ``interval_s``, not after its session (the group could not drain before)."""
    while True:
        await asyncio.sleep(interval_s)
        # A failure (the broker restarting) is retried next time: not worth a warning
        # every few seconds.
        await free_dead_members(
            bootstrap, group_id, own_id, security, joined=True, failure_level=logging.DEBUG
        )


async def _free(
    bootstrap: str, group_id: str, own_id: str, security: KafkaSecurity, host: str, *, joined: bool
) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security.client_options())
    locks: list[socket.socket] = []

    def held(slot: int) -> bool:
        lock = membership.try_slot(group_id, slot)
        if lock is not None:
            locks.append(lock)  # released once the LeaveGroup is answered
        return lock is None

    await admin.start()
    try:
        node = await admin.find_coordinator(group_id)
        described = await admin._send_request(DescribeGroupsV4([group_id]), node)
        dead = dead_ids(instance_ids(described), host, own_id, held, joined=joined)
        if not dead:
            return []
        answer = await admin._send_request(LeaveByInstanceId(group_id, dead), node)
        freed = left(answer)
        log.info("freed dead group members", extra=ctx(instance_ids=freed))
        return freed
    finally:
        for lock in locks:
            lock.close()
        # Bounded: with the broker restarting, closing the admin client could wait on it, and
        # this runs when the service stops (the soak once saw a stop held for a minute).
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await admin.close()


def instance_ids(response: Any) -> list[str | None]:
    """The members' instance ids in a DescribeGroups v4 response (raises on a group error)."""
    ids: list[str | None] = []
    for error_code, group, _state, _type, _data, members, _ops in response.groups:
        if error_code:
            raise RuntimeError(f"DescribeGroups {group!r}: error {error_code}")
        ids += [member[1] for member in members]
    return ids


def left(response: Any) -> list[str]:
    """The instance ids a LeaveGroup v3 response removed; UNKNOWN_MEMBER_ID (25: gone
    meanwhile) counts as removed."""
    if response.error_code:
        raise RuntimeError(f"LeaveGroup: error {response.error_code}")
    failed = [(iid, code) for _member, iid, code in response.members if code not in (0, 25)]
    if failed:
        raise RuntimeError(f"LeaveGroup: {failed}")
    return [iid for _member, iid, _code in response.members]


_MEMBER = (("member_id", String("utf-8")), ("group_instance_id", String("utf-8")))


class _DescribeGroupsResponseV4(Response):  # type: ignore[misc] # aiokafka is untyped
    API_KEY = 15
    API_VERSION = 4
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "groups",
            Array(
                ("error_code", Int16),
                ("group", String("utf-8")),
                ("state", String("utf-8")),
                ("protocol_type", String("utf-8")),
                ("protocol", String("utf-8")),
                (
                    "members",
                    Array(
                        *_MEMBER,
                        ("client_id", String("utf-8")),
                        ("client_host", String("utf-8")),
                        ("member_metadata", Bytes),
                        ("member_assignment", Bytes),
                    ),
                ),
                ("authorized_operations", Int32),
            ),
        ),
    )


class _DescribeGroupsRequestV4(RequestStruct):  # type: ignore[misc] # aiokafka is untyped
    API_KEY = 15
    API_VERSION = 4
    RESPONSE_TYPE = _DescribeGroupsResponseV4
    SCHEMA = Schema(("groups", Array(String("utf-8"))), ("include_authorized_operations", Boolean))


class DescribeGroupsV4(Request[_DescribeGroupsRequestV4]):  # type: ignore[misc] # aiokafka is untyped
    """DescribeGroups v4 (the first with the members' group_instance_id)."""

    API_KEY = 15

    def __init__(self, groups: list[str]) -> None:
        self._groups = groups

    def build(self, request_struct_class: type[_DescribeGroupsRequestV4]) -> Any:
        return request_struct_class(self._groups, False)


class _LeaveGroupResponseV3(Response):  # type: ignore[misc] # aiokafka is untyped
    API_KEY = 13
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("members", Array(*_MEMBER, ("error_code", Int16))),
    )


class _LeaveGroupRequestV3(RequestStruct):  # type: ignore[misc] # aiokafka is untyped
    API_KEY = 13
    API_VERSION = 3
    RESPONSE_TYPE = _LeaveGroupResponseV3
    SCHEMA = Schema(("group", String("utf-8")), ("members", Array(*_MEMBER)))


class LeaveByInstanceId(Request[_LeaveGroupRequestV3]):  # type: ignore[misc] # aiokafka is untyped
    """LeaveGroup v3 for static members named by instance id (member id unknown: "")."""

    API_KEY = 13

    def __init__(self, group: str, instance_ids: list[str]) -> None:
        self._group = group
        self._ids = instance_ids

    def build(self, request_struct_class: type[_LeaveGroupRequestV3]) -> Any:
        return request_struct_class(self._group, [("", iid) for iid in self._ids])
