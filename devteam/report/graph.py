"""The team's graph as LangGraph builds it, laid out in layers and drawn as SVG, with the
path a run took drawn over it.

LangGraph's own drawings need mermaid.js or a network service; this layout needs neither:
the nodes go in layers by their longest distance from the start (loops set aside), each
layer ordered by where its nodes' predecessors sit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from devteam.report.svg import el, svg, text, title

START, END = "__start__", "__end__"
NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 132, 30, 26, 54, 24


class GraphShape(BaseModel):
    nodes: list[str]
    edges: list[tuple[str, str, bool]] = Field(description="source, target, conditional")


class Placed(BaseModel):
    shape: GraphShape
    pos: dict[str, tuple[float, float]] = Field(description="node centre")
    width: float
    height: float


def team_graph(team: Any) -> GraphShape:
    """Nodes and edges of the compiled graph of ``team`` (a TeamConfig or its dict)."""
    from devteam.agents.common import Deps
    from devteam.agents.graph import build_graph
    from devteam.config import Settings
    from devteam.events import EventBus
    from devteam.llm.budget import Budget
    from devteam.teams import TeamConfig

    config = team if isinstance(team, TeamConfig) else TeamConfig.model_validate(team)
    settings = Settings.model_construct()

    def unused() -> Any:  # building the graph calls no node, so opens nothing
        raise RuntimeError("drawing the graph opens no model, sandbox or workspace")

    deps = Deps(
        events=EventBus(),
        budget=Budget(settings.budget),
        settings=settings,
        team=config,
        open_model=unused,
        open_sandbox=unused,
        open_workspace=unused,
    )
    drawn = build_graph(deps).get_graph()
    return GraphShape(
        nodes=list(drawn.nodes),
        edges=[(e.source, e.target, bool(e.conditional)) for e in drawn.edges],
    )


def layout(shape: GraphShape) -> Placed:
    """Layers by longest path from the start over the graph without its back edges."""
    succ: dict[str, list[str]] = {n: [] for n in shape.nodes}
    for s, t, _ in shape.edges:
        succ.setdefault(s, []).append(t)
    back = _back_edges(succ, START if START in succ else shape.nodes[0])
    forward = [(s, t) for s, t, _ in shape.edges if (s, t) not in back]
    layer = {n: 0 for n in shape.nodes}
    for _ in shape.nodes:  # longest path: relax as often as there are nodes (a DAG)
        changed = False
        for s, t in forward:
            if layer[t] < layer[s] + 1:
                layer[t], changed = layer[s] + 1, True
        if not changed:
            break
    rows: dict[int, list[str]] = {}
    for n in shape.nodes:
        rows.setdefault(layer[n], []).append(n)
    preds: dict[str, list[str]] = {n: [] for n in shape.nodes}
    for s, t in forward:
        preds[t].append(s)
    index: dict[str, float] = {}
    for depth in sorted(rows):
        row = rows[depth]
        row.sort(key=lambda n: _mean([index[p] for p in preds[n] if p in index], len(index)))
        for i, n in enumerate(row):
            index[n] = i - (len(row) - 1) / 2
    widest = max(len(r) for r in rows.values())
    width = 2 * MARGIN + widest * NODE_W + (widest - 1) * GAP_X + 80
    height = 2 * MARGIN + len(rows) * NODE_H + (len(rows) - 1) * GAP_Y
    pos = {
        n: (
            width / 2 - 40 + index[n] * (NODE_W + GAP_X),
            MARGIN + NODE_H / 2 + layer[n] * (NODE_H + GAP_Y),
        )
        for n in shape.nodes
    }
    return Placed(shape=shape, pos=pos, width=width, height=height)


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def _back_edges(succ: dict[str, list[str]], root: str) -> set[tuple[str, str]]:
    """Edges that close a loop in a depth-first walk from ``root`` (iterative)."""
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[tuple[str, Iterable[str]]] = [(root, iter(succ.get(root, [])))]
    state[root] = 1
    while stack:
        node, children = stack[-1]
        child = next(iter(children), None)
        if child is None:
            state[node] = 2
            stack.pop()
            continue
        if state.get(child) == 1:
            back.add((node, child))
        elif child not in state:
            state[child] = 1
            stack.append((child, iter(succ.get(child, []))))
    return back


def _arrow(name: str, fill: str) -> str:
    """An arrowhead marker that edges refer to as ``url(#name)``."""
    return el(
        "marker",
        el("path", d="M0,0 L10,5 L0,10 z", fill=fill),
        id=name,
        viewBox="0 0 10 10",
        refX=10,
        refY=5,
        markerWidth=9,
        markerHeight=9,
        markerUnits="userSpaceOnUse",
        orient="auto-start-reverse",
    )


def draw(placed: Placed, taken: dict[tuple[str, str], int], visited: set[str]) -> str:
    """The graph; edges in ``taken`` (with how often) and nodes in ``visited`` highlighted."""
    defs = [
        "<defs>",
        _arrow("arrow", "#9aa3ad"),
        _arrow("arrow-taken", "#d9480f"),
        "</defs>",
    ]
    plain: list[str] = []
    highlighted: list[str] = []
    for s, t, conditional in placed.shape.edges:
        count = taken.get((s, t), 0)
        d = _edge_path(placed, s, t)
        cls = "edge taken" if count else "edge"
        edge = el(
            "path",
            title(f"{s} -> {t}" + (f" (taken {count}x)" if count else "")),
            d=d,
            fill="none",
            stroke="#d9480f" if count else "#9aa3ad",
            stroke_opacity=None if count else 0.6,
            stroke_width=2.6 if count else 1.1,
            stroke_dasharray=None if count or not conditional else "4 3",
            marker_end="url(#arrow-taken)" if count else "url(#arrow)",
            class_=cls,
            data_edge=f"{s}:{t}",
        )
        (highlighted if count else plain).append(edge)
    body = defs + plain + highlighted  # the path taken on top
    for s, t, _ in placed.shape.edges:
        count = taken.get((s, t), 0)
        if count > 1:
            (x1, y1), (x2, y2) = placed.pos[s], placed.pos[t]
            body.append(
                text((x1 + x2) / 2 + 6, (y1 + y2) / 2, f"{count}x", class_="count", fill="#d9480f")
            )
    for n in placed.shape.nodes:
        x, y = placed.pos[n]
        on = n in visited
        label = {START: "start", END: "end"}.get(n, n)
        body.append(
            el(
                "g",
                title(n + (" (visited)" if on else ""))
                + el(
                    "rect",
                    x=x - NODE_W / 2,
                    y=y - NODE_H / 2,
                    width=NODE_W,
                    height=NODE_H,
                    rx=15 if n in (START, END) else 5,
                    fill="#ffe8d9" if on else "#ffffff",
                    stroke="#d9480f" if on else "#9aa3ad",
                    stroke_width=2 if on else 1,
                )
                + text(x, y + 4, label, text_anchor="middle"),
                class_="node visited" if on else "node",
                data_node=n,
            )
        )
    return svg(placed.width, placed.height, "".join(body), label="the team's graph", class_="graph")


def _edge_path(placed: Placed, s: str, t: str) -> str:
    (x1, y1), (x2, y2) = placed.pos[s], placed.pos[t]
    if y2 > y1:  # downwards: bottom of the source to the top of the target
        top, bottom = y1 + NODE_H / 2, y2 - NODE_H / 2
        if y2 - y1 <= NODE_H + GAP_Y or x1 != x2:
            return f"M{x1:.1f},{top:.1f} L{x2:.1f},{bottom:.1f}"
        # a long straight drop would run through the nodes between: bow it to the left
        bow = x1 - NODE_W / 2 - 10 - (y2 - y1) * 0.04
        return (
            f"M{x1:.1f},{top:.1f} C{bow:.1f},{top + 40:.1f} {bow:.1f},{bottom - 40:.1f} "
            f"{x2:.1f},{bottom:.1f}"
        )
    if y2 == y1:  # within a layer: between the facing sides
        side = 1 if x2 > x1 else -1
        return f"M{x1 + side * NODE_W / 2:.1f},{y1:.1f} L{x2 - side * NODE_W / 2:.1f},{y2:.1f}"
    # a loop back up: out of the source's outer side, around every node in between, and
    # into the target's same side
    xs = [x for x, _ in placed.pos.values()]
    side = -1 if x1 < (min(xs) + max(xs)) / 2 else 1
    between = [x for x, y in placed.pos.values() if y2 <= y <= y1]
    outer = min(between) if side < 0 else max(between)
    bend = outer + side * (NODE_W / 2 + 16 + (y1 - y2) * 0.06)
    a, b = x1 + side * NODE_W / 2, x2 + side * NODE_W / 2
    return f"M{a:.1f},{y1:.1f} C{bend:.1f},{y1:.1f} {bend:.1f},{y2:.1f} {b:.1f},{y2:.1f}"
