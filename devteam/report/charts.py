"""Charts as inline SVG: a run's timeline (lanes per role, a bar per phase or call) and a
scatter of labelled points (the bench comparison)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from devteam.report.data import Span
from devteam.report.svg import colour, el, esc, nice_ticks, short_number, svg, text, title

LANE_H = 30
LEFT = 110
RIGHT = 20
TOP = 12
AXIS_H = 36


def timeline(spans: Sequence[Span], lanes: Sequence[str], *, width: int = 960) -> str:
    """Phases and model calls per role by time: one lane each, one bar per span."""
    order = [lane for lane in lanes if any(s.lane == lane for s in spans)]
    order += [s.lane for s in spans if s.lane not in order]
    order = list(dict.fromkeys(order))
    end = max((s.end_s for s in spans), default=0.0)
    ticks = nice_ticks(end or 1.0, 8)
    scale = (width - LEFT - RIGHT) / ticks[-1]
    height = TOP + LANE_H * max(1, len(order)) + AXIS_H
    body: list[str] = []
    for i, lane in enumerate(order):
        y = TOP + i * LANE_H
        if i % 2 == 0:
            body.append(
                el("rect", x=0, y=y, width=width, height=LANE_H, fill="#f6f7f9", class_="lane")
            )
        body.append(text(LEFT - 8, y + LANE_H / 2 + 4, lane, text_anchor="end", class_="lbl"))
    for t in ticks:
        x = LEFT + t * scale
        body.append(
            el("line", x1=x, x2=x, y1=TOP, y2=height - AXIS_H + 4, stroke="#d0d4da", stroke_width=1)
        )
        body.append(text(x, height - AXIS_H + 18, f"{short_number(t)}s", text_anchor="middle"))
    body.append(text(LEFT + (width - LEFT - RIGHT) / 2, height - 4, "seconds since the start"))
    for span in spans:
        i = order.index(span.lane)
        x = LEFT + span.start_s * scale
        w = max(2.0, (span.end_s - span.start_s) * scale)
        y = TOP + i * LANE_H + 5
        bar = el(
            "rect",
            title(span.label),
            x=x,
            y=y,
            width=w,
            height=LANE_H - 10,
            rx=3,
            fill=colour(span.lane),
            class_=f"bar {span.kind}",
            data_lane=span.lane,
        )
        body.append(bar)
        if span.kind == "phase" and w > 7 * len(span.label.split(" ")[0]):
            body.append(
                text(x + 4, y + LANE_H - 15, span.label.split(" ")[0], fill="#fff", class_="in")
            )
    return svg(width, height, "".join(body), label="timeline of the run", class_="timeline")


class Point(BaseModel):
    label: str
    x: float
    y: float


def scatter(
    points: Sequence[Point],
    *,
    x_label: str,
    y_label: str,
    heading: str,
    y_max: float | None = None,
    width: int = 720,
    height: int = 440,
) -> str:
    """Labelled points on two linear axes from zero (no point: an empty chart that says so)."""
    left, bottom, top, right = 70, 56, 40, 30
    xt = nice_ticks(max((p.x for p in points), default=1.0) * 1.05 or 1.0)
    yt = nice_ticks(y_max if y_max is not None else max((p.y for p in points), default=1.0))
    sx = (width - left - right) / xt[-1]
    sy = (height - top - bottom) / yt[-1]

    def at(x: float, y: float) -> tuple[float, float]:
        return left + x * sx, height - bottom - y * sy

    body = [text(width / 2, 22, heading, text_anchor="middle", class_="head")]
    for t in xt:
        x, _ = at(t, 0)
        body.append(el("line", x1=x, x2=x, y1=top, y2=height - bottom, stroke="#e2e5e9"))
        body.append(text(x, height - bottom + 18, short_number(t), text_anchor="middle"))
    for t in yt:
        _, y = at(0, t)
        body.append(el("line", x1=left, x2=width - right, y1=y, y2=y, stroke="#e2e5e9"))
        body.append(text(left - 8, y + 4, short_number(t), text_anchor="end"))
    body.append(text(width / 2, height - 14, x_label, text_anchor="middle"))
    body.append(
        text(
            18, height / 2, y_label, text_anchor="middle", transform=f"rotate(-90 18 {height / 2})"
        )
    )
    if not points:
        body.append(text(width / 2, height / 2, "no data", text_anchor="middle"))
    taken: list[tuple[float, float, float]] = []  # label boxes: left, right, baseline
    for p in sorted(points, key=lambda p: -p.y):
        x, y = at(p.x, p.y)
        body.append(
            el(
                "circle",
                title(f"{p.label}: {p.y:g} at {p.x:g}"),
                cx=x,
                cy=y,
                r=6,
                fill=colour(p.label),
                class_="point",
            )
        )
        anchor = "end" if x > width * 0.6 else "start"
        span = 6.5 * len(p.label)
        left_edge = x - 9 - span if anchor == "end" else x + 9
        ly = y - 8
        while any(a < left_edge + span and left_edge < b and abs(ly - c) < 14 for a, b, c in taken):
            ly += 14  # below the label already there
        taken.append((left_edge, left_edge + span, ly))
        if ly != y - 8:  # moved clear of another label: a leader line back to the point
            tip = left_edge + span if anchor == "end" else left_edge
            body.append(el("line", x1=x, y1=y, x2=tip, y2=ly - 4, stroke="#8a929b"))
        body.append(text(left_edge, ly, p.label, class_="plabel"))
    style = el(
        "style",
        esc("text{font:12px sans-serif;fill:#333}.head{font-weight:bold;font-size:14px}"),
    )
    return svg(width, height, style + "".join(body), label=heading)
