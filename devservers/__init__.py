"""Local development servers: Apache Kafka (KRaft), Elasticsearch and PostgreSQL on
loopback, fetched from Maven Central and Debian's packages and run by an unprivileged
user, for ``radar up``, the integration and deployment tests and the benchmarks.

A leaf: it imports nothing of the project, and no production role imports it (the
import-linter contracts in ``pyproject.toml``).
"""
