"""The message bus between stages: an interface, and the embedded in-process version.

Consumes records from producers (``publish``) and hands them to subscribers. The Kafka
version implements the same :class:`Bus` protocol. Values are the records' JSON bytes
even in process, so the embedded mode exercises the same wire format as Kafka.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], object]  # return values are ignored


class Bus(Protocol):
    def publish(self, topic: str, key: str, value: bytes) -> None:
        """Hand one record over; returns once the bus has accepted it (for Kafka: once the
        broker acknowledged it). Raises on failure: the caller must not count it done."""
        ...

    def flush(self) -> None:
        """Block until everything published so far is delivered."""
        ...


class InProcessBus:
    """Synchronous delivery to in-process subscribers: ``publish`` returns after every
    handler of the topic has returned, so a handler's exception reaches the publisher."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self.published: dict[str, int] = defaultdict(int)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.published[topic] += 1
        for handler in self._handlers.get(topic, ()):
            handler(key, value)

    def flush(self) -> None:
        return None
