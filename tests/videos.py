"""Benign test videos made in memory from the shared photos: see radar.demo.videos."""

from __future__ import annotations

from radar.demo.videos import DEMO_EDITS, edit, slideshow

__all__ = ["DEMO_EDITS", "edit", "slideshow"]
