"""Small SVG building blocks: escaped elements, nice axis ticks, a colour per name.

Every piece of text that reaches a picture goes through :func:`esc`; run text is model
output and never becomes markup.
"""

from __future__ import annotations

import html
import math
import zlib

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#9c755f",
    "#ff9da7",
    "#bab0ac",
)


def esc(text: object) -> str:
    """Text made safe for HTML and SVG alike (quotes too, so it fits in attributes)."""
    return html.escape(str(text), quote=True)


def colour(name: str) -> str:
    """A stable colour for a name (the same role gets the same colour everywhere)."""
    fixed = {"phases": "#6b7280", "sandbox": "#2f855a", "ceo": PALETTE[4], "coder": PALETTE[0]}
    if name in fixed:
        return fixed[name]
    return PALETTE[zlib.crc32(name.encode("utf-8")) % len(PALETTE)]


def attrs(**values: object) -> str:
    """``key="value"`` pairs, escaped; a trailing underscore is dropped (``class_``) and
    other underscores become dashes (``stroke_width``)."""
    parts = []
    for key, value in values.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        if isinstance(value, float):
            value = f"{value:.1f}"
        parts.append(f'{name}="{esc(value)}"')
    return " ".join(parts)


def el(tag: str, body: str = "", **values: object) -> str:
    """One element; ``body`` is markup already made safe by the caller."""
    a = attrs(**values)
    open_ = f"<{tag} {a}" if a else f"<{tag}"
    return f"{open_}>{body}</{tag}>" if body else f"{open_}/>"


def text(x: float, y: float, content: object, **values: object) -> str:
    return el("text", esc(content), x=float(x), y=float(y), **values)


def title(content: object) -> str:
    """A tooltip (the first child of a shape)."""
    return f"<title>{esc(content)}</title>"


def svg(width: float, height: float, body: str, *, label: str, class_: str = "") -> str:
    return el(
        "svg",
        body,
        xmlns="http://www.w3.org/2000/svg",
        width=int(width),
        height=int(height),
        viewBox=f"0 0 {int(width)} {int(height)}",
        role="img",
        aria_label=label,
        class_=class_ or None,
    )


def nice_ticks(high: float, count: int = 6) -> list[float]:
    """Round tick values from 0 to at least ``high`` (1, 2 or 5 times a power of ten apart)."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def short_number(value: float) -> str:
    """1200 -> 1.2k; 3 -> 3; 0.5 -> 0.5."""
    if abs(value) >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"
