"""Operations: health and metrics endpoints every long-running role serves.

Consumes a role's liveness/readiness checks and its Prometheus registry
(:mod:`ops.metrics`: one per role, Kafka consumer lag); produces ``/healthz``,
``/readyz`` and ``/metrics`` (Prometheus text exposition) over HTTP. Also the registry of
``RADAR_*`` names (:mod:`ops.environment`) and the base of every role's settings object
(:mod:`ops.settings`). Depends on nothing else in the project, so every stage can use it.
"""

from __future__ import annotations

from ops.health import HealthServer

__all__ = ["HealthServer"]
