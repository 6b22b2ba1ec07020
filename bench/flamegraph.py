"""A flame graph (SVG) of a collapsed-stack profile: `python -m bench.flamegraph IN OUT.svg`.

IN is a profile the harness wrote (`bench/profiles/<run>/<workload>.collapsed.txt.gz`, or
uncompressed). Each box is a frame, as wide as the share of samples it is on the stack of;
the root is at the bottom, callees above; our modules (samhandling) are orange, the rest
grey-blue; hover a box for its frame, samples and share. No dependency beyond the stdlib.
"""

from __future__ import annotations

import html
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.profiling import read_collapsed

WIDTH = 1200.0
ROW = 16
MIN_WIDTH = 0.3  # px: narrower boxes are left out


@dataclass
class Frame:
    name: str
    samples: int = 0
    children: dict[str, Frame] = field(default_factory=dict)


def tree(collapsed: str) -> Frame:
    """The call tree of `frame;frame;… count` lines (root first)."""
    root = Frame("all")
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        node = root
        node.samples += int(count)
        for name in stack.split(";"):
            node = node.children.setdefault(name, Frame(name))
            node.samples += int(count)
    return root


def _depth(node: Frame) -> int:
    return 1 + max((_depth(child) for child in node.children.values()), default=0)


def render(collapsed: str, title: str) -> str:
    """The SVG document of the profile."""
    root = tree(collapsed)
    height = (_depth(root) + 2) * ROW
    boxes: list[str] = []
    scale = WIDTH / max(root.samples, 1)

    def place(node: Frame, x: float, depth: int) -> None:
        width = node.samples * scale
        if width < MIN_WIDTH:
            return
        y = height - (depth + 1) * ROW
        ours = "samhandling" in node.name
        colour = "#f0a040" if ours else "#9db4d0"
        share = 100 * node.samples / max(root.samples, 1)
        label = html.escape(node.name)
        text = label if width > 40 else ""
        boxes.append(
            f"<g><title>{label} ({node.samples} samples, {share:.1f}%)</title>"
            f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 1}"'
            f' fill="{colour}" rx="2"/>'
            f'<text x="{x + 3:.1f}" y="{y + ROW - 4}" font-size="11"'
            f' textLength="{max(width - 6, 1):.0f}" lengthAdjust="spacingAndGlyphs">'
            f"{text[: int(width / 6)]}</text></g>"
        )
        offset = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            place(child, offset, depth + 1)
            offset += child.samples * scale

    place(root, 0.0, 0)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0f}" height="{height}"'
        f' font-family="monospace"><text x="4" y="{ROW - 3}" font-size="13">'
        f"{html.escape(title)} ({root.samples} samples)</text>" + "".join(boxes) + "</svg>\n"
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n")[0], file=sys.stderr)
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    target.write_text(render(read_collapsed(source), source.name), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
