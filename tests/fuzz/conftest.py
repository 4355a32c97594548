"""Property-based tests (Hypothesis) of the parsers that face hostile input.

Two profiles: ``suite`` (the default: a modest number of examples, so ``make test``
stays quick) and ``fuzz`` (``make fuzz``: many more). ``HYPOTHESIS_PROFILE`` picks one.
No deadline: the machine is shared, and a slow example is not a failure here (the
parsers' time bounds are tested with the hostile-host fixture). Every failure found
becomes an explicit ``@example`` or a regression test next to the parser's tests.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

for name, examples in (("suite", 60), ("fuzz", 5000)):
    settings.register_profile(
        name, max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))
