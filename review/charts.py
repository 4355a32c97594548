"""Charts as server-rendered SVG: no JavaScript library, nothing fetched by the browser."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from notices.stats import HostStats, human_hours

BUCKETS = ((1, "< 1 h"), (6, "1-6 h"), (24, "6-24 h"), (48, "1-2 d"), (168, "2-7 d"))


def removal_bars(stats: Sequence[HostStats], width: int = 640) -> str:
    """Per host: median and 90th-percentile time to removal, as horizontal bars."""
    rows = [s for s in stats if s.hours_to_removal]
    if not rows:
        return _empty("No removals measured yet", width)
    top = max(s.p90_hours or 0 for s in rows) or 1.0
    label_w, bar_w, row_h = 170, width - 170 - 80, 34
    height = 30 + row_h * len(rows)
    parts = [_open(width, height, "Time to removal per host (median and 90th percentile)")]
    parts.append(
        f'<text x="{label_w}" y="14" class="legend"><tspan class="k-med">&#9632;</tspan> median'
        '  <tspan class="k-p90">&#9632;</tspan> 90th percentile</text>'
    )
    for i, s in enumerate(rows):
        y = 26 + i * row_h
        p90 = (s.p90_hours or 0) / top * bar_w
        med = (s.median_hours or 0) / top * bar_w
        parts += [
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="lbl">'
            f"{escape(s.host[:24])}</text>",
            f'<rect x="{label_w}" y="{y + 2}" width="{p90:.1f}" height="20" class="p90"/>',
            f'<rect x="{label_w}" y="{y + 6}" width="{med:.1f}" height="12" class="med"/>',
            f'<text x="{label_w + p90 + 6:.1f}" y="{y + 16}" class="val">'
            f"{human_hours(s.median_hours)} / {human_hours(s.p90_hours)}</text>",
        ]
    return "".join(parts) + "</svg>"


def removal_histogram(hours: Sequence[float], width: int = 640) -> str:
    """How many URLs came down within each time bucket after the first notice."""
    if not hours:
        return _empty("No removals measured yet", width)
    counts = [0] * (len(BUCKETS) + 1)
    for h in hours:
        index = next((i for i, (limit, _) in enumerate(BUCKETS) if h < limit), len(BUCKETS))
        counts[index] += 1
    labels = [label for _, label in BUCKETS] + ["> 7 d"]
    height, base, top = 200, 170, max(counts)
    step = (width - 40) / len(counts)
    parts = [_open(width, height, "URLs removed, by time from first notice")]
    for i, (n, label) in enumerate(zip(counts, labels, strict=True)):
        h = n / top * 140
        x = 20 + i * step
        parts += [
            f'<rect x="{x + 6:.1f}" y="{base - h:.1f}" width="{step - 12:.1f}" height="{h:.1f}" '
            'class="med"/>',
            f'<text x="{x + step / 2:.1f}" y="{base + 18}" text-anchor="middle" class="lbl">'
            f"{label}</text>",
            f'<text x="{x + step / 2:.1f}" y="{base - h - 5:.1f}" text-anchor="middle" '
            f'class="val">{n}</text>',
        ]
    return "".join(parts) + "</svg>"


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    )


def _empty(text: str, width: int) -> str:
    return _open(width, 60, text) + (
        f'<text x="{width / 2}" y="35" text-anchor="middle" class="lbl">{escape(text)}</text></svg>'
    )
