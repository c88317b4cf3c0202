"""Which static members a starting consumer frees, and the requests that name them."""

from __future__ import annotations

import logging
import uuid
from io import BytesIO
from types import SimpleNamespace

import pytest
from aiokafka.protocol.types import Int16, Int32, String

from consumer.config import membership
from consumer.service import dead_members
from consumer.service.dead_members import DescribeGroupsV4, LeaveByInstanceId, dead_ids, left
from feed.kafka_security import KafkaSecurity

LIVE = {0, 2}


def _held(slot: int) -> bool:
    return slot in LIVE


def test_only_this_hosts_dead_slots_and_the_own_predecessor_are_dead() -> None:
    members = [
        "h-0",  # live slot
        "h-1",  # dead slot
        "h-2",  # our own id: our predecessor (we have not joined yet), though we hold slot 2
        "h-3",  # dead slot
        "other-1",  # another host's
        "h-x-1",  # "h-x" is another host
        "replica-7",  # a configured id
        "h-",
        None,  # a dynamic member
        "h-1",  # listed twice: removed once
    ]
    assert dead_ids(members, "h", "h-2", _held) == ["h-1", "h-2", "h-3"]


def test_a_live_slot_other_than_ours_is_never_dead() -> None:
    assert dead_ids(["h-0", "h-2"], "h", "h-5", _held) == []
    assert dead_ids([], "h", "h-0", _held) == []


def test_a_probed_slot_lock_is_free_only_while_nobody_holds_it() -> None:
    group = f"g-{uuid.uuid4().hex}"
    lock = membership.try_slot(group, 0)
    assert lock is not None
    assert membership.try_slot(group, 0) is None  # held: the slot is live
    assert membership.claim_slot(group) == 1
    lock.close()
    again = membership.try_slot(group, 0)
    assert again is not None
    again.close()


def test_once_joined_our_own_id_is_never_dead() -> None:
    # A configured id may look like a free slot's: it must not remove the running process.
    assert dead_ids(["h-0", "h-1", "h-7"], "h", "h-7", _held, joined=True) == ["h-1"]


def test_a_configured_id_of_slot_form_holds_its_slot() -> None:
    group = f"g-{uuid.uuid4().hex}"
    assert membership.hold("h-3", group, host="h")
    assert membership.try_slot(group, 3) is None  # others see slot 3 as live
    assert not membership.hold("replica-7", group, host="h")
    assert not membership.hold("h-x", group, host="h")


def _read(data: BytesIO) -> tuple[str | None, str | None]:
    return String().decode(data), String().decode(data)


def test_leave_group_v3_names_members_by_instance_id() -> None:
    struct = LeaveByInstanceId("g", ["h-1", "h-3"]).prepare({13: (0, 5)})
    assert (struct.API_KEY, struct.API_VERSION) == (13, 3)
    data = BytesIO(struct.encode())
    assert String().decode(data) == "g"
    assert Int32.decode(data) == 2
    # Unknown member id ("") with the instance id: the broker removes that static member.
    assert [_read(data), _read(data)] == [("", "h-1"), ("", "h-3")]
    assert not data.read()


def test_describe_groups_v4_answer_gives_instance_ids() -> None:
    struct = DescribeGroupsV4(["g"]).prepare({15: (0, 5)})
    assert (struct.API_KEY, struct.API_VERSION) == (15, 4)
    member = (
        String().encode("m-1") + String().encode("h-1") + String().encode("c")
        + String().encode("/127.0.0.1") + Int32.encode(0) + Int32.encode(0)
    )  # fmt: skip
    body = (
        Int32.encode(0) + Int32.encode(1) + Int16.encode(0) + String().encode("g")
        + String().encode("Stable") + String().encode("consumer") + String().encode("range")
        + Int32.encode(1) + member + Int32.encode(0)
    )  # fmt: skip
    response = struct.RESPONSE_TYPE.decode(BytesIO(body))
    assert dead_members.instance_ids(response) == ["h-1"]


def test_leave_answer_counts_members_gone_meanwhile_as_freed() -> None:
    gone = SimpleNamespace(error_code=0, members=[("", "h-1", 0), ("", "h-3", 25)])
    assert left(gone) == ["h-1", "h-3"]  # 25: UNKNOWN_MEMBER_ID
    fenced = SimpleNamespace(error_code=0, members=[("", "h-1", 82)])  # FENCED_INSTANCE_ID
    with pytest.raises(RuntimeError, match="h-1"):
        left(fenced)


async def test_an_unreachable_broker_is_logged_once_and_start_up_goes_on(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dead_members, "FREE_TIMEOUT_S", 2.0)
    with caplog.at_level(logging.WARNING, logger="consumer.service.dead_members"):
        freed = await dead_members.free_dead_members(
            "127.0.0.1:1", f"g-{uuid.uuid4().hex}", "h-0", KafkaSecurity(), host="h"
        )
    assert freed == []
    ours = [r.getMessage() for r in caplog.records if r.name == "consumer.service.dead_members"]
    assert [m.split(":")[0] for m in ours] == ["dead group members not freed"]
