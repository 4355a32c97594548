"""``python -m crawler``: run a crawler of the Kafka crawl frontier."""

from crawler.service import main

main()
