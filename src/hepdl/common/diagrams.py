"""Diagrams of what the lessons build: a Keras model's layers, an LSTM unrolled over a sequence,
a pipeline of steps. Drawn with matplotlib from the objects themselves, so that a figure never
disagrees with the code it shows.

* :func:`model_diagram`: one box per layer of a built Keras model (its kind, settings, output
  shape and weights), an arrow for every connection; branches side by side.
* :func:`unrolled_recurrence`: a recurrent layer as the same cell repeated along the sequence
  (detector layers, hits of a track), the state passed from step to step, one way or both.
* :func:`pipeline_diagram`: a row of steps joined by arrows (track following, a data pipeline).

Every function takes ``ax=None`` (a new figure) and returns the ``Axes``. Importing this module
does not import Keras: :func:`model_diagram` reads the model it is given.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

__all__ = ["layer_summary", "model_diagram", "pipeline_diagram", "unrolled_recurrence"]

#: Box colours by the kind of layer.
COLOURS = {"input": "#e8e8e8", "convolution": "#9ecae1", "pooling": "#c6dbef",
           "recurrent": "#fdae6b", "dense": "#a1d99b", "other": "#f0f0f0"}
_KINDS = {"Conv1D": "convolution", "Conv2D": "convolution", "Conv3D": "convolution",
          "MaxPooling1D": "pooling", "MaxPooling2D": "pooling", "MaxPooling3D": "pooling",
          "AveragePooling1D": "pooling", "AveragePooling2D": "pooling", "AveragePooling3D": "pooling",
          "GlobalMaxPooling1D": "pooling", "GlobalMaxPooling2D": "pooling",
          "GlobalAveragePooling1D": "pooling", "GlobalAveragePooling2D": "pooling",
          "LSTM": "recurrent", "GRU": "recurrent", "SimpleRNN": "recurrent", "Dense": "dense",
          "InputLayer": "input"}


def _shape(shape) -> str:
    """``(None, 5, 100)`` -> ``'5 x 100'`` (the batch axis left out)."""
    dims = [("?" if d is None else str(d)) for d in tuple(shape)[1:]]
    return " x ".join(dims) if dims else "scalar"


def _settings(kind: str, config: dict) -> str:
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        k = config.get("kernel_size", ())
        size = "x".join(str(v) for v in k) if isinstance(k, (list, tuple)) else str(k)
        return f"{config.get('filters')} filters {size}, {config.get('activation')}"
    units = config.get("units")
    units = f"{units} unit{'' if units == 1 else 's'}"
    if kind == "Dense":
        return f"{units}, {config.get('activation')}"
    if kind in ("LSTM", "GRU", "SimpleRNN"):
        every = "every step" if config.get("return_sequences") else "last step"
        return f"{units}, output at {every}"
    if "pool_size" in config:
        p = config["pool_size"]
        return "pool " + ("x".join(str(v) for v in p) if isinstance(p, (list, tuple)) else str(p))
    if kind == "Dropout":
        return f"rate {config.get('rate')}"
    return ""


def layer_summary(layer) -> dict:
    """What a box shows of one Keras layer: ``kind`` (``'TimeDistributed(Dense)'``), ``family``
    (a key of :data:`COLOURS`), ``settings``, ``shape`` (output, batch left out) and ``weights``."""
    kind = type(layer).__name__
    inner = getattr(layer, "layer", None) or getattr(layer, "forward_layer", None)
    config = layer.get_config() if hasattr(layer, "get_config") else {}
    family, settings = _KINDS.get(kind, "other"), _settings(kind, config)
    if inner is not None:
        inner_kind = type(inner).__name__
        kind = f"{kind}({inner_kind})"
        family, settings = _KINDS.get(inner_kind, "other"), _settings(inner_kind, inner.get_config())
    output = layer.output if kind != "InputLayer" else None
    shape = _shape(output.shape) if output is not None else _shape(layer.batch_shape)
    return {"kind": kind, "family": family, "settings": settings, "shape": shape,
            "weights": int(layer.count_params()) if kind != "InputLayer" else 0}


def _inbound(config_layer: dict) -> list[str]:
    """Names of the layers feeding one layer of a functional model's ``get_config()``."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            history = node.get("config", {}).get("keras_history") if node.get("class_name") == "__keras_tensor__" else None
            if history:
                found.append(history[0])
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(config_layer.get("inbound_nodes", []))
    return list(dict.fromkeys(found))


def _graph(model) -> tuple[list[dict], dict[str, list[str]]]:
    """(boxes in order, name -> names of its inputs) of a built Keras model."""
    boxes = []
    config = model.get_config()
    layers = list(model.layers)
    if not layers or type(layers[0]).__name__ != "InputLayer":          # a Sequential model
        shape = model.inputs[0].shape
        boxes.append({"name": "input", "kind": "Input", "family": "input", "settings": "",
                      "shape": _shape(shape), "weights": 0})
    for layer in layers:
        boxes.append({"name": layer.name, **layer_summary(layer)})
    parents: dict[str, list[str]] = {}
    by_name = {entry.get("name", entry.get("config", {}).get("name")): entry
               for entry in config.get("layers", []) if isinstance(entry, dict)}
    for i, box in enumerate(boxes):
        entry = by_name.get(box["name"], {})
        found = _inbound(entry) if "inbound_nodes" in entry else []
        parents[box["name"]] = found or ([boxes[i - 1]["name"]] if i > 0 else [])
    return boxes, parents


def _box(ax, x, y, width, height, text, colour, *, fontsize=8):
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.08", fc=colour, ec="0.3", lw=0.8,
                                zorder=2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=3)


def _arrow(ax, start, end, *, colour="0.25", style="-|>", lw=1.0):
    """An arrow drawn behind the boxes (an arrow to a farther box passes behind a nearer one)."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=10, color=colour, lw=lw,
                                 shrinkA=0, shrinkB=0, zorder=1))


def model_diagram(model, ax=None, *, title: str | None = None, columns: int = 1, box_height: float = 0.62):
    """Draw a built Keras model: one box per layer, top (input) to bottom (output).

    Each box shows the layer's kind (``TimeDistributed(Dense)``), its settings (units, filters,
    activation, pooling), its output shape without the batch axis and its number of weights.
    Layers that read the same input (a branch) stand side by side; an arrow joins each layer
    to each of its inputs. Colours: :data:`COLOURS`. ``columns``: the drawing is at least this
    many boxes wide, so that models drawn side by side (one with a branch, one without) come out
    at the same scale.

    Returns the ``Axes``.
    """
    boxes, parents = _graph(model)
    depth: dict[str, int] = {}
    for box in boxes:
        depth[box["name"]] = 1 + max((depth[p] for p in parents[box["name"]] if p in depth), default=-1)
    rows: dict[int, list[str]] = {}
    for box in boxes:
        rows.setdefault(depth[box["name"]], []).append(box["name"])
    width, gap = 3.2, 0.35
    position = {}
    for level, names in rows.items():
        for j, name in enumerate(names):
            position[name] = ((j - (len(names) - 1) / 2) * (width + gap), -level)
    if ax is None:
        columns = max(len(names) for names in rows.values())
        _, ax = plt.subplots(figsize=(max(4.2, 3.6 * columns), 0.75 * len(rows) + 0.6))
    for box in boxes:
        x, y = position[box["name"]]
        lines = [box["kind"] + (f": {box['settings']}" if box["settings"] else ""),
                 f"output {box['shape']}" + (f", {box['weights']:,} weights" if box["weights"] else "")]
        _box(ax, x, y, width, box_height, "\n".join(lines), COLOURS[box["family"]])
        for parent in parents[box["name"]]:
            if parent in position:
                px, py = position[parent]
                _arrow(ax, (px, py - box_height / 2), (x, y + box_height / 2))
    half = max(max(abs(p[0]) for p in position.values()), (columns - 1) * (width + gap) / 2)
    ax.set_xlim(-half - width / 2 - 0.1, half + width / 2 + 0.1)
    ax.set_ylim(-max(rows) - 0.5, 0.5)
    ax.set_aspect("equal", anchor="N")       # boxes of one size, whatever the axes (side-by-side models)
    ax.set_axis_off()
    total = sum(box["weights"] for box in boxes)
    ax.set_title(title or f"{getattr(model, 'name', 'model')}: {total:,} weights", fontsize=10)
    return ax


def unrolled_recurrence(n_steps: int, ax=None, *, bidirectional: bool = False, cell: str = "LSTM",
                        step_label: str = "step", input_label: str = "x", output_label: str = "y",
                        shown: int = 6, title: str | None = None):
    """Draw a recurrent layer unrolled over ``n_steps`` steps: the *same* cell (same weights) at
    every step reads its input (bottom) and the state of the previous step (arrow from the left),
    and writes an output (top) and its state to the next step. ``bidirectional`` adds a second
    cell reading the steps backwards, whose state flows right to left; both feed each output.
    Long sequences show the first ``shown - 1`` steps and the last, with an ellipsis.

    Returns the ``Axes``.
    """
    if int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    steps = list(range(n_steps))
    if n_steps > shown:
        steps = steps[: shown - 1] + [None, n_steps - 1]
    if ax is None:
        _, ax = plt.subplots(figsize=(1.55 * len(steps) + 0.8, 3.9 if bidirectional else 3.1))
    rows = [(1.0, "forward", 1)] + ([(0.0, "backward", -1)] if bidirectional else [])
    top = 2.3 if bidirectional else 2.1
    bottom = -1.2 if bidirectional else -0.2
    for i, step in enumerate(steps):
        x = 1.5 * i
        if step is None:
            ax.text(x, 0.5 if bidirectional else 1.0, "...", ha="center", va="center", fontsize=14)
            continue
        _box(ax, x, bottom, 1.0, 0.5, f"{input_label}$_{{{step}}}$\n{step_label} {step}", COLOURS["input"])
        _box(ax, x, top, 1.0, 0.5, f"{output_label}$_{{{step}}}$", COLOURS["dense"])
        for y, name, direction in rows:
            _box(ax, x, y, 1.0, 0.6, f"{cell}\n{name}" if bidirectional else cell, COLOURS["recurrent"])
            dx = 0.22 * direction if bidirectional else 0.0      # two inputs, two outputs side by side
            _arrow(ax, (x - dx, bottom + 0.25), (x - dx, y - 0.3), colour="0.45")
            _arrow(ax, (x + dx, y + 0.3), (x + dx, top - 0.25), colour="0.45")
            nxt = i + direction
            if 0 <= nxt < len(steps):
                gap = steps[nxt] is None
                x2 = 1.5 * nxt
                start, end = (x + 0.5 * direction, y), (x2 - 0.5 * direction, y)
                if gap:
                    end = (x2 - 0.25 * direction, y)
                _arrow(ax, start, end, colour="C3", lw=1.6, style="-|>" if not gap else "-")
                if gap and 0 <= nxt + direction < len(steps):
                    _arrow(ax, (x2 + 0.25 * direction, y), (1.5 * (nxt + direction) - 0.5 * direction, y),
                           colour="C3", lw=1.6)
    ax.text(-0.95, rows[0][0], "state", color="C3", ha="right", va="center", fontsize=8)
    ax.set_xlim(-1.4, 1.5 * (len(steps) - 1) + 0.7)
    ax.set_ylim(bottom - 0.45, top + 0.45)
    ax.set_axis_off()
    default = (f"two {cell} cells unrolled over {n_steps} {step_label}s, one reading forward, one backward; "
               "each has the same weights at every step" if bidirectional else
               f"one {cell} cell unrolled over {n_steps} {step_label}s: the same weights at every step")
    ax.set_title(title or default, fontsize=10)
    return ax


def pipeline_diagram(steps: Sequence, ax=None, *, title: str | None = None, colours: Sequence | None = None):
    """Draw a pipeline: ``steps`` left to right, each a string or ``(title, detail)``, joined by
    arrows. ``colours`` (one per step, default alternating) may mark learned and fixed steps.

    Returns the ``Axes``.
    """
    steps = [s if isinstance(s, (tuple, list)) else (s, "") for s in steps]
    if not steps:
        raise ValueError("give at least one step")
    if ax is None:
        _, ax = plt.subplots(figsize=(2.35 * len(steps) + 0.4, 2.0))
    colours = list(colours) if colours is not None else [COLOURS["other"]] * len(steps)
    for i, ((name, detail), colour) in enumerate(zip(steps, colours)):
        x = 2.3 * i
        _box(ax, x, 0, 1.95, 1.1, f"{name}\n\n{detail}" if detail else name, colour, fontsize=8)
        if i:
            _arrow(ax, (x - 2.3 + 0.98, 0), (x - 0.98, 0), lw=1.4)
    ax.set_xlim(-1.1, 2.3 * (len(steps) - 1) + 1.1)
    ax.set_ylim(-0.75, 0.75)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax
