"""``python -m matcher``: run the matcher service (Kafka -> Elasticsearch)."""

from matcher.service import main

main()
