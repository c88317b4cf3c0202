"""The lot history's and change stream's settings (nested in the service's Settings)."""

from __future__ import annotations

from dataclasses import dataclass, field

from feed.settings import SettingsError, boolean, env

DEFAULT_CHANGES_TOPIC = "vinops.lot-changes"


@dataclass(frozen=True, slots=True)
class HistorySettings:
    # Off: no lot versions, no change events, no relay. For an A/B measurement of their cost
    # only: versions missed meanwhile come back with `consumer rebuild --all`, events do not.
    enabled: bool = field(default=True, metadata=env("VINOPS_HISTORY", boolean))
    changes_topic: str = field(default=DEFAULT_CHANGES_TOPIC, metadata=env("VINOPS_CHANGES_TOPIC"))
    # Events read, sent and acknowledged per relay round; one position write per round.
    relay_batch: int = field(default=2000, metadata=env("VINOPS_RELAY_BATCH", int))
    # How often the relay looks for new events when the outbox was empty.
    relay_interval_ms: int = field(default=500, metadata=env("VINOPS_RELAY_INTERVAL_MS", int))
    # A fault knob for tests and the soak: the relay waits this long between Kafka's
    # acknowledgement and the position write (the window a SIGKILL must hit). 0 in production.
    relay_pause_s: float = field(
        default=0.0, metadata=env("VINOPS_RELAY_PAUSE_AFTER_SEND_S", float)
    )

    def __post_init__(self) -> None:
        if self.relay_batch < 1:
            raise SettingsError(f"VINOPS_RELAY_BATCH must be >= 1, got {self.relay_batch}")
        if self.relay_interval_ms < 1:
            raise SettingsError(
                f"VINOPS_RELAY_INTERVAL_MS must be >= 1, got {self.relay_interval_ms}"
            )
        if not self.relay_pause_s >= 0:
            raise SettingsError(
                f"VINOPS_RELAY_PAUSE_AFTER_SEND_S must be >= 0, got {self.relay_pause_s}"
            )
