"""Operations: health and metrics endpoints every long-running role serves.

Consumes a role's liveness/readiness checks and counters; produces ``/healthz``,
``/readyz`` and ``/metrics`` (Prometheus text format) over HTTP. Depends on nothing else
in the project, so every stage can use it.
"""

from __future__ import annotations

from ops.health import HealthServer

__all__ = ["HealthServer"]
