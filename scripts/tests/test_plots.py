import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")
import plots  # noqa: E402


def draw(path):
    return plots.line_plot(path, [("a", [(1, 0.5), (10, 5.0), (100, 50.0)]), ("empty", []),
                                  ("b", [(1, 1.0), (100, 2.0)], dict(color="#777777", linestyle=":"))],
                           title="Title <&>", xlabel="x", ylabel="y", logx=True, logy=True, hlines=[(5, "target")])


def test_line_plot_is_valid_svg_and_reproducible(tmp_path):
    a = draw(tmp_path / "a" / "plot.svg").read_bytes()
    b = draw(tmp_path / "b.svg").read_bytes()
    assert a == b
    root = ET.fromstring(a)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = a.decode()
    assert "<dc:date>" not in text
    assert "Title &lt;&amp;&gt;" in text  # matplotlib names each text in a comment
    assert "target" in text and "empty" not in text


def test_qq_plot(tmp_path):
    series = {"s": ([-1.0, -3.0, None, -2.0], [-1.1, -3.5, -2.0, None])}
    path = plots.qq_plot(tmp_path / "qq.svg", series, title="QQ", xlabel="expected", ylabel="observed",
                         xlim=(-3, 0), ylim=(-4, 0))
    again = plots.qq_plot(tmp_path / "qq2.svg", series, title="QQ", xlabel="expected", ylabel="observed",
                          xlim=(-3, 0), ylim=(-4, 0))
    assert path.read_bytes() == again.read_bytes()
    assert ET.parse(path).getroot().tag.endswith("svg")
