#!/usr/bin/env python3
"""Small, dependency-free SVG plots for docs/results.md (standard library only).

    import sys; sys.path.insert(0, "scripts")
    import svgplot

    p = svgplot.Plot(title="Power", xlabel="tokens T", ylabel="TPR at FPR 1e-3", xlog=True)
    p.line([25, 50, 100, 200], [0.3, 0.7, 0.93, 0.98], label="lefthash", marker=True)
    p.scatter([25, 50], [0.2, 0.6], label="paper")
    p.hline(0.5, label="chance")
    p.save("docs/plots/power.svg")

    svgplot.qq_plot("docs/plots/qq.svg", {"tuple, exact": (expected, observed)},
                    title="Null p-values", log=True)

Axes: linear or log10 (xlog / ylog; non-positive values are dropped from log axes, with a
count kept in `Plot.dropped`). Ticks are chosen at 1-2-5 steps (linear) or at powers of ten
(log). Series get distinct colours and dash patterns, so plots stay readable in greyscale.
The output is deterministic (same input, same bytes), so regenerated plots diff cleanly.

    python3 scripts/svgplot.py --selftest    # draws every kind of plot into a temporary
                                             # directory and checks each parses as SVG/XML
"""

import math
import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

__all__ = ["Plot", "qq_plot", "PALETTE"]

# Okabe-Ito colour-blind-safe palette, then dash patterns to tell series apart in greyscale.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
DASHES = ["", "6,3", "2,3", "8,3,2,3", "1,2", "10,4"]
MARKERS = ["circle", "square", "triangle", "diamond"]


def _fmt(v):
    """A short tick label."""
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        e = int(math.floor(math.log10(a) + 1e-12))
        m = v / 10 ** e
        if abs(m - round(m)) < 1e-9:
            m = int(round(m))
            return ("1e%d" % e) if m == 1 else ("%de%d" % (m, e))
        return "%.3ge%d" % (m, e)
    s = ("%.6f" % v).rstrip("0").rstrip(".")
    return s


def _num(v):
    """A coordinate in the SVG: two decimals, no trailing zeros."""
    s = "%.2f" % v
    return s.rstrip("0").rstrip(".") if "." in s else s


def _nice_step(span, target):
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


class _Axis:
    def __init__(self, log):
        self.log = log
        self.lo = None
        self.hi = None

    def t(self, v):
        return math.log10(v) if self.log else v

    def fit(self, values, include=()):
        vals = [v for v in list(values) + list(include) if v is not None and math.isfinite(v) and (v > 0 or not self.log)]
        if not vals:
            vals = [1.0, 10.0] if self.log else [0.0, 1.0]
        lo, hi = min(vals), max(vals)
        if self.log:
            lo, hi = 10 ** math.floor(math.log10(lo) + 1e-12), 10 ** math.ceil(math.log10(hi) - 1e-12)
            if lo == hi:
                lo, hi = lo / 10, hi * 10
        else:
            if lo == hi:
                lo, hi = lo - 0.5 if lo != 0 else -1, hi + 0.5 if hi != 0 else 1
            step = _nice_step(hi - lo, 6)
            lo, hi = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
        self.lo = self.lo if self.lo is not None else lo
        self.hi = self.hi if self.hi is not None else hi

    def ticks(self):
        if self.log:
            a, b = int(math.floor(math.log10(self.lo) + 1e-9)), int(math.ceil(math.log10(self.hi) - 1e-9))
            every = max(1, math.ceil((b - a) / 8))
            return [10.0 ** e for e in range(a, b + 1) if (e - a) % every == 0 and self.lo * (1 - 1e-9) <= 10.0 ** e <= self.hi * (1 + 1e-9)]
        step = _nice_step(self.hi - self.lo, 6)
        out, v = [], math.ceil(self.lo / step - 1e-9) * step
        while v <= self.hi + step * 1e-9:
            out.append(0.0 if abs(v) < step * 1e-9 else v)
            v += step
        return out


class Plot:
    """One set of axes with any number of line and scatter series."""

    def __init__(self, title="", xlabel="", ylabel="", xlog=False, ylog=False, width=640, height=420,
                 xlim=None, ylim=None, legend="upper left"):
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.width, self.height = width, height
        self.x, self.y = _Axis(xlog), _Axis(ylog)
        self.fixed_x, self.fixed_y = bool(xlim), bool(ylim)
        if xlim:
            self.x.lo, self.x.hi = xlim
        if ylim:
            self.y.lo, self.y.hi = ylim
        self.legend = legend  # "upper left", "upper right", "lower left", "lower right", or None
        self.series = []
        self.refs = []  # reference lines: (kind, value or points, label, style)
        self.dropped = 0

    # -- adding data ---------------------------------------------------------------------------

    def _points(self, xs, ys):
        pts = []
        for x, y in zip(xs, ys):
            if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
                self.dropped += 1
                continue
            if (self.x.log and x <= 0) or (self.y.log and y <= 0):
                self.dropped += 1
                continue
            pts.append((float(x), float(y)))
        return pts

    def line(self, xs, ys, label=None, marker=False, color=None, dash=None, width=2.0):
        """A polyline through the points (in the given order), optionally with markers."""
        self.series.append(dict(kind="line", pts=self._points(xs, ys), label=label, marker=marker,
                                color=color, dash=dash, width=width))
        return self

    def scatter(self, xs, ys, label=None, color=None, size=3.5, marker=None):
        """Markers only."""
        self.series.append(dict(kind="scatter", pts=self._points(xs, ys), label=label, marker=marker or True,
                                color=color, dash=None, width=1.0, size=size))
        return self

    def errorbars(self, xs, ys, lo, hi, label=None, color=None):
        """Markers with vertical intervals [lo, hi] (e.g. 99% Clopper-Pearson)."""
        pts, bars = [], []
        for x, y, a, b in zip(xs, ys, lo, hi):
            kept = self._points([x], [y])
            if kept:
                pts.extend(kept)
                bars.append((x, a, b))
        self.series.append(dict(kind="scatter", pts=pts, label=label, marker=True, color=color, dash=None,
                                width=1.0, size=3.5, bars=bars))
        return self

    def hline(self, y, label=None, dash="4,4", color="#777777"):
        self.refs.append(("h", y, label, dash, color))
        return self

    def vline(self, x, label=None, dash="4,4", color="#777777"):
        self.refs.append(("v", x, label, dash, color))
        return self

    def diagonal(self, label="y = x", dash="4,4", color="#777777"):
        """The identity line across the plotted range (for QQ plots)."""
        self.refs.append(("d", None, label, dash, color))
        return self

    # -- drawing -------------------------------------------------------------------------------

    def _layout(self):
        xs = [p[0] for s in self.series for p in s["pts"]] + [b[0] for s in self.series for b in s.get("bars", [])]
        ys = [p[1] for s in self.series for p in s["pts"]]
        for s in self.series:
            for _, a, b in s.get("bars", []):
                ys += [v for v in (a, b) if v is not None and (v > 0 or not self.y.log)]
        xr = [r[1] for r in self.refs if r[0] == "v"]
        yr = [r[1] for r in self.refs if r[0] == "h"]
        self.x.fit(xs, xr)
        self.y.fit(ys, yr)
        if any(r[0] == "d" for r in self.refs) and self.x.log == self.y.log and not (self.fixed_x or self.fixed_y):
            lo, hi = min(self.x.lo, self.y.lo), max(self.x.hi, self.y.hi)
            self.x.lo = self.y.lo = lo
            self.x.hi = self.y.hi = hi

    def _px(self, x):
        a, b = self.x.t(self.x.lo), self.x.t(self.x.hi)
        return self.left + (self.x.t(x) - a) / (b - a) * (self.width - self.left - self.right)

    def _py(self, y):
        a, b = self.y.t(self.y.lo), self.y.t(self.y.hi)
        return self.height - self.bottom - (self.y.t(y) - a) / (b - a) * (self.height - self.top - self.bottom)

    def _style(self, i, s):
        color = s["color"] or PALETTE[i % len(PALETTE)]
        dash = s["dash"] if s["dash"] is not None else (DASHES[i % len(DASHES)] if s["kind"] == "line" else "")
        return color, dash

    def _marker(self, out, shape, x, y, r, color):
        if shape in (True, "circle"):
            out.append('<circle cx="%s" cy="%s" r="%s" fill="%s"/>' % (_num(x), _num(y), _num(r), color))
        elif shape == "square":
            out.append('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>' % (_num(x - r), _num(y - r), _num(2 * r), _num(2 * r), color))
        elif shape == "triangle":
            pts = "%s,%s %s,%s %s,%s" % (_num(x), _num(y - r * 1.2), _num(x - r * 1.1), _num(y + r * 0.8), _num(x + r * 1.1), _num(y + r * 0.8))
            out.append('<polygon points="%s" fill="%s"/>' % (pts, color))
        else:  # diamond
            pts = "%s,%s %s,%s %s,%s %s,%s" % (_num(x), _num(y - r * 1.3), _num(x + r * 1.3), _num(y), _num(x), _num(y + r * 1.3), _num(x - r * 1.3), _num(y))
            out.append('<polygon points="%s" fill="%s"/>' % (pts, color))

    def to_svg(self):
        self.left, self.right, self.top, self.bottom = 70, 20, 40 if self.title else 20, 55
        self._layout()
        W, H = self.width, self.height
        x0, x1, y0, y1 = self.left, W - self.right, self.top, H - self.bottom
        out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
               'font-family="Helvetica, Arial, sans-serif" font-size="12">' % (W, H, W, H),
               '<rect width="100%" height="100%" fill="white"/>']
        if self.title:
            out.append('<text x="%s" y="22" text-anchor="middle" font-size="14" font-weight="bold">%s</text>' % (_num(W / 2), escape(self.title)))
        # grid and ticks
        for tx in self.x.ticks():
            px = self._px(tx)
            out.append('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e6e6e6"/>' % (_num(px), y0, _num(px), y1))
            out.append('<text x="%s" y="%s" text-anchor="middle">%s</text>' % (_num(px), _num(y1 + 16), escape(_fmt(tx))))
        for ty in self.y.ticks():
            py = self._py(ty)
            out.append('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e6e6e6"/>' % (x0, _num(py), x1, _num(py)))
            out.append('<text x="%s" y="%s" text-anchor="end">%s</text>' % (_num(x0 - 6), _num(py + 4), escape(_fmt(ty))))
        out.append('<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#333"/>' % (x0, y0, x1 - x0, y1 - y0))
        if self.xlabel:
            out.append('<text x="%s" y="%s" text-anchor="middle">%s</text>' % (_num((x0 + x1) / 2), _num(H - 14), escape(self.xlabel)))
        if self.ylabel:
            cx, cy = 18, (y0 + y1) / 2
            out.append('<text x="%s" y="%s" text-anchor="middle" transform="rotate(-90 %s %s)">%s</text>' % (cx, _num(cy), cx, _num(cy), escape(self.ylabel)))
        # everything inside the frame is clipped to it
        out.append('<clipPath id="frame"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath>' % (x0, y0, x1 - x0, y1 - y0))
        out.append('<g clip-path="url(#frame)">')
        legend = []
        for kind, v, label, dash, color in self.refs:
            if kind == "h":
                py = self._py(v)
                seg = (x0, py, x1, py)
            elif kind == "v":
                px = self._px(v)
                seg = (px, y0, px, y1)
            else:
                lo, hi = max(self.x.lo, self.y.lo), min(self.x.hi, self.y.hi)
                seg = (self._px(lo), self._py(lo), self._px(hi), self._py(hi))
            out.append('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.2"%s/>' % (
                _num(seg[0]), _num(seg[1]), _num(seg[2]), _num(seg[3]), color, ' stroke-dasharray="%s"' % dash if dash else ""))
            if label:
                legend.append((label, color, dash, None, 1.2))
        for i, s in enumerate(self.series):
            color, dash = self._style(i, s)
            shape = s["marker"]
            if shape is True:
                shape = MARKERS[i % len(MARKERS)]
            for x, a, b in s.get("bars", []):
                if a is None or b is None:
                    continue
                if self.y.log and a <= 0:
                    a = self.y.lo
                px = self._px(x)
                out.append('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.2"/>' % (_num(px), _num(self._py(a)), _num(px), _num(self._py(b)), color))
            if s["kind"] == "line" and len(s["pts"]) > 1:
                pts = " ".join("%s,%s" % (_num(self._px(x)), _num(self._py(y))) for x, y in s["pts"])
                out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round"%s/>' % (
                    pts, color, _num(s["width"]), ' stroke-dasharray="%s"' % dash if dash else ""))
            if shape:
                for x, y in s["pts"]:
                    self._marker(out, shape, self._px(x), self._py(y), s.get("size", 3.0), color)
            if s["label"]:
                legend.append((s["label"], color, dash if s["kind"] == "line" else None, shape, s["width"]))
        out.append("</g>")
        if legend and self.legend:
            lw = max(len(l[0]) for l in legend) * 6.6 + 40
            lh = 18 * len(legend) + 8
            lx = x0 + 8 if "left" in self.legend else x1 - lw - 8
            ly = y0 + 8 if "upper" in self.legend else y1 - lh - 8
            out.append('<rect x="%s" y="%s" width="%s" height="%s" fill="white" fill-opacity="0.9" stroke="#bbb"/>' % (_num(lx), _num(ly), _num(lw), lh))
            for j, (label, color, dash, shape, width) in enumerate(legend):
                cy = ly + 14 + 18 * j
                if dash is not None or not shape:
                    out.append('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>' % (
                        _num(lx + 6), _num(cy - 4), _num(lx + 28), _num(cy - 4), color, _num(width), ' stroke-dasharray="%s"' % dash if dash else ""))
                if shape:
                    self._marker(out, shape, lx + 17, cy - 4, 3.5, color)
                out.append('<text x="%s" y="%s">%s</text>' % (_num(lx + 34), _num(cy), escape(label)))
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def save(self, path):
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_svg())
        return path


def qq_plot(path, series, title="", xlabel=None, ylabel=None, log=True, width=520, height=520, legend="upper left",
            xlim=None, ylim=None):
    """A QQ plot: for each name, (expected, observed) quantiles, with the diagonal.

    `series` maps a label to a pair of equal-length sequences. With `log=True` (the usual
    for p-values) both axes are log10 and non-positive values are dropped; for p-values give
    expected = plotting positions (e.g. 10^level) and observed = the empirical quantiles, or
    expected = levels and observed = the empirical CDF at them. Points below the diagonal are
    smaller than expected (anti-conservative for p-values). `xlim`/`ylim` fix the axes (points
    outside are clipped at the frame), e.g. to keep a few extreme p-values from squeezing the
    rest."""
    p = Plot(title=title, xlabel=xlabel or ("expected" + (" (log scale)" if log else "")),
             ylabel=ylabel or ("observed" + (" (log scale)" if log else "")), xlog=log, ylog=log,
             width=width, height=height, legend=legend, xlim=xlim, ylim=ylim)
    p.diagonal(label="expected")
    for label, (e, o) in series.items():
        pairs = sorted((a, b) for a, b in zip(e, o) if a is not None and b is not None)
        p.line([a for a, _ in pairs], [b for _, b in pairs], label=label, marker=True, width=1.5)
    return p.save(path)


def _selftest():
    d = tempfile.mkdtemp(prefix="svgplot-")
    paths = []
    p = Plot(title="Power <&> test", xlabel="tokens T", ylabel="TPR", xlog=True, ylim=(0, 1), legend="lower right")
    p.line([25, 50, 100, 200], [0.3, 0.7, 0.93, 0.98], label="ours", marker=True)
    p.line([25, 50, 100, 195], [0.2, 0.6, 0.9, 0.99], label="paper", dash="4,2")
    p.scatter([30, 60], [0.5, 0.8], label="points")
    p.errorbars([40, 80], [0.4, 0.85], [0.3, 0.8], [0.5, 0.9], label="with CI")
    p.hline(0.5, label="half")
    p.line([0, 10], [0.1, 0.2], label="dropped on log x")
    assert p.dropped == 1, p.dropped
    paths.append(p.save(os.path.join(d, "power.svg")))
    lin = Plot(title="linear", xlabel="x", ylabel="y")
    lin.line(range(-3, 4), [v * v - 2 for v in range(-3, 4)], label="x^2-2")
    lin.vline(0)
    paths.append(lin.save(os.path.join(d, "linear.svg")))
    levels = [10 ** (-i / 10) for i in range(0, 61)]
    paths.append(qq_plot(os.path.join(d, "qq.svg"), {
        "valid": (levels, [q * 0.8 for q in levels]),
        "liberal": (levels, [min(1, q * 3) for q in levels]),
        "with gaps": (levels, [None if i % 7 == 0 else q for i, q in enumerate(levels)]),
    }, title="QQ", xlabel="nominal level", ylabel="observed FPR"))
    paths.append(qq_plot(os.path.join(d, "qq-clipped.svg"), {"log10 p": ([0, -1, -2, -3], [0, -1.2, -2.5, -40])},
                         log=False, xlim=(-3, 0), ylim=(-4, 0)))
    empty = Plot(title="empty", xlog=True, ylog=True)
    paths.append(empty.save(os.path.join(d, "empty.svg")))
    for path in paths:
        root = ET.parse(path).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
        text = open(path, encoding="utf-8").read()
        assert "nan" not in text.lower().replace("nano", ""), path
        assert text == open(path, encoding="utf-8").read()
    # Deterministic output.
    again = Plot(title="Power <&> test", xlabel="tokens T", ylabel="TPR", xlog=True, ylim=(0, 1), legend="lower right")
    assert "polyline" in open(paths[0]).read() and "Power &lt;&amp;&gt; test" in open(paths[0]).read()
    assert again.to_svg() == again.to_svg()
    assert _fmt(1e-4) == "1e-4" and _fmt(0.25) == "0.25" and _fmt(200) == "200" and _fmt(5e-7) == "5e-7"
    print("svgplot selftest: %d plots in %s parse as SVG" % (len(paths), d))


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        _selftest()
    else:
        print(__doc__.strip())
        sys.exit(0 if sys.argv[1:] in ([], ["-h"], ["--help"]) else 2)
