"""The bus gtproc publishes on: a new custom bus, or an existing one imported by name."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from constructs import Construct


class GtprocBus(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        existing_bus_name: str | None,
        new_bus_name: str,
        event_source: str,
        archive_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.event_bus: events.IEventBus
        if existing_bus_name:
            self.event_bus = events.EventBus.from_event_bus_name(self, "Imported", existing_bus_name)
            return
        self.event_bus = events.EventBus(self, "Bus", event_bus_name=new_bus_name)
        if archive_retention_days:
            # Lets a consumer that missed events ask for them again (`aws events start-replay`).
            self.event_bus.archive(
                "Archive",
                description="Everything gtproc published on its bus",
                event_pattern=events.EventPattern(source=[event_source]),
                retention=Duration.days(archive_retention_days),
            )
