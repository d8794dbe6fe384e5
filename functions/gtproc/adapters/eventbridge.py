"""Publishing on the EventBridge bus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gtproc.adapters.aws import client
from gtproc.usecases.ports import EventEntry


class EventBridgePublisher:
    def __init__(self, bus_name: str, source: str, events_client: Any | None = None) -> None:
        self.bus_name = bus_name
        self.source = source
        self._client = events_client
        self.calls = 0

    @property
    def events(self) -> Any:
        if self._client is None:
            self._client = client("events")
        return self._client

    def put(self, entries: Sequence[EventEntry]) -> list[int]:
        self.calls += 1
        response = self.events.put_events(
            Entries=[
                {
                    "Source": self.source,
                    "DetailType": entry.detail_type,
                    "Detail": entry.detail.decode(),
                    "EventBusName": self.bus_name,
                }
                for entry in entries
            ]
        )
        if not response.get("FailedEntryCount"):
            return []
        return [position for position, result in enumerate(response["Entries"]) if result.get("ErrorCode")]
