"""``python -m radar``: the same as the ``radar`` console script."""

from radar.cli import main

main()
