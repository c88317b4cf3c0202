"""What a fault test reads about a consumer group: its static members' partitions, and which
of this host's slot locks live processes hold."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from consumer.config import membership
from consumer.service.dead_members import DescribeGroupsV4

TopicPartition = tuple[str, int]


async def static_members(bootstrap: str, group: str) -> dict[str, set[TopicPartition]]:
    """Instance id -> the partitions assigned to it (empty while the group rebalances)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        node = await admin.find_coordinator(group)
        response = await admin._send_request(DescribeGroupsV4([group]), node)
    finally:
        await admin.close()
    members: dict[str, set[TopicPartition]] = {}
    for *_head, group_members, _ops in response.groups:
        for _member_id, instance_id, *_, assignment in group_members:
            tps: set[TopicPartition] = set()
            if assignment:
                decoded = ConsumerProtocolMemberAssignment.decode(assignment)
                tps = {(t, p) for t, ps in decoded.assignment for p in ps}
            members[instance_id] = tps
    return members


def slot_held(group: str, slot: int) -> bool:
    """Whether a process holds the slot lock; read from /proc, so never taken for a moment
    (binding to probe it could push a starting consumer to the next slot)."""
    name = "@" + membership.slot_name(group, slot)
    lines = Path("/proc/net/unix").read_text().splitlines()
    return any(line.split()[-1] == name for line in lines[1:] if len(line.split()) > 7)


async def wait_slot_held(group: str, slot: int, wait_s: float = 60) -> None:
    deadline = time.monotonic() + wait_s
    while not slot_held(group, slot):
        assert time.monotonic() < deadline, f"nobody claimed slot {slot}"
        await asyncio.sleep(0.1)
