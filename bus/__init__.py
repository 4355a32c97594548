"""The message bus between stages: an interface, the embedded in-process version, and
(:mod:`bus.kafka`) the Apache Kafka version.

Consumes records from producers (``send``/``publish``) and hands them to subscribers.
Values are the records' JSON bytes even in process, so the embedded mode exercises the
same wire format as Kafka.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], object]  # return values are ignored


class Bus(Protocol):
    def send(self, topic: str, key: str, value: bytes) -> Future[None]:
        """Hand one record over; the future completes once the bus has accepted it (for
        Kafka: the broker acknowledged it) or fails. May block while the bus's bounded
        buffer is full: that is the back-pressure on producers."""
        ...

    def publish(self, topic: str, key: str, value: bytes) -> None:
        """``send`` and wait for the acknowledgement; raise on failure."""
        ...

    def flush(self) -> None:
        """Block until everything sent so far is acknowledged."""
        ...

    def close(self) -> None: ...


class InProcessBus:
    """Synchronous delivery to in-process subscribers: ``send`` returns a completed
    future after every handler of the topic has returned; a handler's exception fails it."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self.published: dict[str, int] = defaultdict(int)

    def __deepcopy__(self, memo: dict[int, object]) -> object:
        # Scrapy deep-copies its settings, where the bus travels: a bus is a shared
        # connection, so every copy is the bus itself.
        return self

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    def send(self, topic: str, key: str, value: bytes) -> Future[None]:
        future: Future[None] = Future()
        try:
            for handler in self._handlers.get(topic, ()):
                handler(key, value)
        except Exception as exc:
            future.set_exception(exc)
        else:
            self.published[topic] += 1
            future.set_result(None)
        return future

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.send(topic, key, value).result()

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None
