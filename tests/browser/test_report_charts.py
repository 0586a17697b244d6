"""A reader opens a finished report in headless Chromium: its tables come with charts (inline SVG, described for
screen readers), a key-figures card links to the tables, and the charts survive dark mode and printing. The
screenshots are looked at pixel by pixel: a chart that draws nothing fails."""
from __future__ import annotations

import base64
import os
import struct
import zlib

from stack.report_flow_helpers import create_report, wait_until_finished, word

from .cdp import Browser


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and RGB pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            channels = 4 if colour == 6 else 3
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for i in range(stride):
            a = row[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + a) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + b) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        pixels += [tuple(row[x * channels:x * channels + 3]) for x in range(width)]
        previous = row
    return width, height, pixels


def element_pixels(browser: Browser, selector: str, save_as: str | None = None):
    box = browser.evaluate(f"""(() => {{ const el = document.querySelector({selector!r});
        el.scrollIntoView({{block: 'center'}}); const r = el.getBoundingClientRect();
        return {{x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}}; }})()""")
    assert box["width"] > 100 and box["height"] > 60, box
    shot = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                        clip={**box, "scale": 1})
    png = base64.b64decode(shot["data"])
    if save_as:
        with open(save_as, "wb") as file:
            file.write(png)
    return decode_png(png)


def drawn_share(pixels: list[tuple[int, int, int]]) -> tuple[float, int]:
    """The share of pixels that differ from the most common colour (the background), and how many distinct
    colours there are: an empty SVG area is one colour."""
    counts: dict[tuple[int, int, int], int] = {}
    for pixel in pixels:
        counts[pixel] = counts.get(pixel, 0) + 1
    background = max(counts, key=counts.get)
    differing = sum(1 for p in pixels if sum(abs(p[i] - background[i]) for i in range(3)) > 60)
    return differing / len(pixels), len(counts)


def test_a_report_shows_described_charts_that_survive_dark_mode_and_print(browser: Browser, tmp_path):
    base = os.environ["MARKETLENS_URL"].rstrip("/")
    public_id = create_report(f"Drone delivery {word()}", region="Nordics")
    state = wait_until_finished(public_id, timeout=90)
    assert state["status"] == "completed", state
    browser.send("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
    browser.navigate(f"{base}/r/{state['slug']}")

    charts = browser.evaluate("""[...document.querySelectorAll('#report svg.chart')].map(svg => {
        const ids = svg.getAttribute('aria-labelledby').split(' ');
        return {role: svg.getAttribute('role'), kind: svg.getAttribute('class'),
                title: document.getElementById(ids[0])?.textContent, desc: document.getElementById(ids[1])?.textContent,
                table: svg.closest('.table-figure').id, hasTable: !!svg.closest('.table-figure').querySelector('table')}; })""")
    kinds = [c["kind"] for c in charts]
    assert "chart chart--line" in kinds and "chart chart--share" in kinds, charts
    for chart in charts:
        assert chart["role"] == "img" and chart["title"] and chart["hasTable"], chart
    size = next(c for c in charts if c["kind"] == "chart chart--line")
    assert size["title"] == "Market size (USD bn)"
    assert "(forecast)" in size["desc"] and "USD" in size["desc"], size["desc"]
    share = next(c for c in charts if c["kind"] == "chart chart--share")
    assert "Other" in share["desc"] and "remainder" in share["desc"], share["desc"]
    # The API's chart values are the ones the page describes.
    api = browser.evaluate(f"fetch('/api/v1/reports/{public_id}').then(r => r.json())")
    first = api["charts"][0]
    assert first["kind"] == "line" and first["table_anchor"] == size["table"]
    assert all(p["label"] in size["desc"] for p in first["points"])

    # The key figures card links each figure to its table.
    figures = browser.evaluate("""[...document.querySelectorAll('.key-figures .key-figure')].map(f => ({
        label: f.querySelector('dt').textContent, href: f.querySelector('a').getAttribute('href'),
        target: !!document.querySelector(f.querySelector('a').getAttribute('href') + ' table')}))""")
    assert [f["label"].split(" (")[0] for f in figures][:2] == ["Market size", "Forecast"], figures
    assert any(f["label"].startswith("CAGR") for f in figures), figures
    assert all(f["target"] for f in figures), figures

    # Pixels: the charts draw something (not one flat colour).
    for selector in ("#report svg.chart--line", "#report svg.chart--share"):
        _, _, pixels = element_pixels(browser, selector, str(tmp_path / (selector.split("--")[1] + ".png")))
        drawn, colours = drawn_share(pixels)
        assert drawn > 0.02 and colours > 8, (selector, drawn, colours)

    # Dark mode: the chart's text and lines follow the page's colours.
    light = browser.evaluate("getComputedStyle(document.querySelector('#report svg.chart--line .chart-title')).fill")
    browser.send("Emulation.setEmulatedMedia", media="", features=[{"name": "prefers-color-scheme", "value": "dark"}])
    dark = browser.evaluate("getComputedStyle(document.querySelector('#report svg.chart--line .chart-title')).fill")
    assert light != dark, (light, dark)
    _, _, pixels = element_pixels(browser, "#report svg.chart--line")
    assert drawn_share(pixels)[0] > 0.02

    # Print: the charts and the card stay, visible and drawn.
    browser.send("Emulation.setEmulatedMedia", media="print", features=[])
    printed = browser.evaluate("""[...document.querySelectorAll('#report svg.chart, .key-figures')].map(el =>
        el.checkVisibility() && el.getBoundingClientRect().height > 50)""")
    assert printed and all(printed), printed
    _, _, pixels = element_pixels(browser, "#report svg.chart--share", str(tmp_path / "print.png"))
    assert drawn_share(pixels)[0] > 0.02
    browser.send("Emulation.setEmulatedMedia", media="", features=[])
    assert not browser.exceptions, browser.exceptions
