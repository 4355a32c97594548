"""Removal notices: from confirmed hits to sent, tracked, re-checked notices.

Consumes confirmed hits (``store.HitStore``) and host contacts; produces notices per
legal regime (:mod:`notices.regimes`) as PDF and ``.eml`` (:mod:`notices.render`), sends
them by SMTP (:mod:`notices.send`), re-checks every noticed URL through a
:class:`notices.recheck.Rechecker` and re-notices or escalates on schedule
(:mod:`notices.tracking`); :mod:`notices.stats` turns the history into per-host numbers.
"""

from __future__ import annotations
