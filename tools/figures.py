"""Draw the course's diagrams into ``images/``: ``python -m tools.figures`` (``make figures``).

Each ``draw_*`` function returns a matplotlib Figure (built without pyplot, so nothing global changes);
``main`` saves them as PNG without the "Software" metadata, so the same matplotlib gives the same bytes.
After redrawing, ``make notebooks`` embeds the new images in the notebooks.
"""

import argparse
import sys
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from tools.nbbuild import IMAGES_DIR

BLUE, ORANGE, GREEN, GREY, INK = "#3b6fb6", "#e07b39", "#2e8b57", "#9aa5b1", "#1f2933"
DPI = 110


def _arrow(ax, start, end, colour=INK, style="-|>", lw=1.6, dashed=False, rad=0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=14, color=colour, lw=lw,
                                 linestyle="--" if dashed else "-", connectionstyle=f"arc3,rad={rad}"))


def _box(ax, xy, width, height, text, colour, fontsize=13):
    x, y = xy
    ax.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=colour, edgecolor=INK, lw=1.2, alpha=0.9))
    ax.text(x + width / 2, y + height / 2, text, ha="center", va="center", fontsize=fontsize, color="white",
            fontweight="bold")


def _blank_axes(fig, xlim, ylim):
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def draw_model_1d():
    """The 1-D model: x and theta enter a multiplication that gives J; backward gives dJ/dtheta = x.

    Returns
    -------
    matplotlib.figure.Figure, 7 x 2.6 inches
    """
    fig = Figure(figsize=(7, 2.6))
    ax = _blank_axes(fig, (0, 7), (0, 2.6))
    for (x, y), label in [((0.7, 1.85), "x"), ((0.7, 0.75), "θ")]:
        ax.add_patch(Circle((x, y), 0.32, facecolor=BLUE, edgecolor=INK, lw=1.2))
        ax.text(x, y, label, ha="center", va="center", fontsize=16, color="white", fontweight="bold")
    _box(ax, (2.3, 0.85), 2.0, 0.9, "J = θ · x", ORANGE, fontsize=15)
    _arrow(ax, (1.05, 1.8), (2.28, 1.45))
    _arrow(ax, (1.05, 0.8), (2.28, 1.15))
    ax.add_patch(Circle((5.9, 1.3), 0.38, facecolor=GREEN, edgecolor=INK, lw=1.2))
    ax.text(5.9, 1.3, "J", ha="center", va="center", fontsize=16, color="white", fontweight="bold")
    _arrow(ax, (4.32, 1.3), (5.5, 1.3))
    ax.text(4.9, 1.5, "forward", ha="center", va="bottom", fontsize=10, color=INK)
    _arrow(ax, (5.6, 0.85), (1.1, 0.45), colour=ORANGE, dashed=True, rad=-0.15)
    ax.text(3.35, 0.12, "backward:  dJ/dθ = x", ha="center", va="bottom", fontsize=11, color=ORANGE,
            fontweight="bold")
    ax.text(3.3, 2.3, "the 1-D model", ha="center", va="center", fontsize=12, color=INK, style="italic")
    return fig


#: The smallest font (pt) of the diagrams: at DPI, shrunk to a 848 px notebook column (JupyterLab at
#: 1280), a 1100 px wide picture shows it at 12 * 110/72 * 848/1100 = 14 px (11 px is the floor).
MIN_FONT = 12


def draw_network_3layer():
    """The fraud-detection network 4 -> 5 -> 3 -> 1 with its layer types and parameter shapes.

    Returns
    -------
    matplotlib.figure.Figure, 10 x 4 inches (1100 x 440 px at DPI), every text at least MIN_FONT pt
    """
    fig = Figure(figsize=(10, 4.0))
    ax = _blank_axes(fig, (0, 10), (-0.25, 3.75))
    sizes = [4, 5, 3, 1]
    xs = [1.0, 3.6, 6.2, 8.5]
    colours = [BLUE, ORANGE, ORANGE, GREEN]
    top, spacing = 3.2, 0.56
    centres = []
    for n, x in zip(sizes, xs):
        y0 = (top + (top - spacing * 4)) / 2 + spacing * (n - 1) / 2
        centres.append([(x, y0 - spacing * k) for k in range(n)])
    for left, right in zip(centres, centres[1:]):
        for a in left:
            for b in right:
                ax.plot([a[0], b[0]], [a[1], b[1]], color=GREY, lw=0.8, zorder=1)
    for column, colour in zip(centres, colours):
        for (x, y) in column:
            ax.add_patch(Circle((x, y), 0.19, facecolor=colour, edgecolor=INK, lw=1.0, zorder=2))
    labels = ["X\n4 features\nshape (4, m)", "LINEAR → RELU\nW1 (5, 4), b1 (5, 1)\nA1 (5, m)",
              "LINEAR → RELU\nW2 (3, 5), b2 (3, 1)\nA2 (3, m)", "LINEAR → SIGMOID\nW3 (1, 3), b3 (1, 1)\nA3 (1, m)"]
    for x, label in zip(xs, labels):
        ax.text(x, 0.27, label, ha="center", va="center", fontsize=MIN_FONT, color=INK, linespacing=1.25)
    _arrow(ax, (8.72, centres[3][0][1]), (9.3, centres[3][0][1]))
    ax.text(9.5, centres[3][0][1], "J", ha="center", va="center", fontsize=18, color=GREEN, fontweight="bold")
    ax.text(9.5, centres[3][0][1] - 0.35, "cross-\nentropy", ha="center", va="top", fontsize=MIN_FONT, color=INK)
    ax.text(5.0, 3.55, "fraud-detection network: one column per transaction, output = P(fraud)",
            ha="center", va="center", fontsize=MIN_FONT + 1, color=INK, style="italic")
    return fig


BLOCKS = [("W1", (5, 4)), ("b1", (5, 1)), ("W2", (3, 5)), ("b2", (3, 1)), ("W3", (1, 3)), ("b3", (1, 1))]


def draw_flatten_vector():
    """Each parameter array, read row by row, becomes one segment of a single column vector theta.

    Returns
    -------
    matplotlib.figure.Figure, 9 x 5.6 inches
    """
    fig = Figure(figsize=(9, 5.6))
    ax = _blank_axes(fig, (0, 9), (-0.3, 5.3))
    palette = ["#3b6fb6", "#7aa6e0", "#e07b39", "#f0b185", "#2e8b57", "#8fd0a9"]
    cell = 0.17
    total = sum(r * c for _, (r, c) in BLOCKS)  # 47
    bar_x, bar_w, bar_top = 6.6, 0.55, 5.0
    unit = (bar_top - 0.2) / total
    start = 0
    y_left = 5.0
    for (name, (rows, cols)), colour in zip(BLOCKS, palette):
        # the array, as a grid on the left
        height = rows * cell
        x0 = 1.4
        for r in range(rows):
            for c in range(cols):
                ax.add_patch(Rectangle((x0 + c * cell, y_left - (r + 1) * cell), cell, cell,
                                       facecolor=colour, edgecolor="white", lw=0.8))
        ax.text(x0 - 0.15, y_left - height / 2, f"{name}\n{rows}×{cols}", ha="right", va="center",
                fontsize=10, color=INK)
        # its segment of theta, on the right
        size = rows * cols
        seg_top = bar_top - start * unit
        ax.add_patch(Rectangle((bar_x, seg_top - size * unit), bar_w, size * unit, facecolor=colour,
                               edgecolor=INK, lw=0.8))
        end = start + size - 1
        span = f"θ[{start}]" if size == 1 else f"θ[{start}] … θ[{end}]"
        ax.text(bar_x + bar_w + 0.15, seg_top - size * unit / 2, f"{span}   ({name})", ha="left",
                va="center", fontsize=9.5, color=INK)
        _arrow(ax, (x0 + cols * cell + 0.1, y_left - height / 2), (bar_x - 0.08, seg_top - size * unit / 2),
               colour=GREY, lw=1.2)
        y_left -= height + 0.22
        start += size
    ax.text(bar_x + bar_w / 2, 0.02, f"θ: shape ({total}, 1)", ha="center", va="center", fontsize=11,
            color=INK, fontweight="bold")
    ax.text(3.9, 5.2, "dictionary_to_vector  →", ha="center", va="center", fontsize=11, color=INK)
    ax.text(3.9, -0.15, "←  vector_to_dictionary", ha="center", va="center", fontsize=11, color=INK)
    return fig


FIGURES = {
    "model_1d.png": draw_model_1d,
    "network_3layer.png": draw_network_3layer,
    "flatten_vector.png": draw_flatten_vector,
}


def save(fig, path):
    """Save ``fig`` as PNG without version metadata (same matplotlib -> same bytes); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, facecolor="white", metadata={"Software": None})
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.figures", description="Draw the course's diagrams.")
    parser.add_argument("--out", default=str(IMAGES_DIR), help="directory to write the PNG files to")
    args = parser.parse_args(argv)
    for name, draw in FIGURES.items():
        print(f"wrote {save(draw(), Path(args.out) / name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
