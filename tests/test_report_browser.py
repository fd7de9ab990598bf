"""The HTML report in a real browser: headless Chromium loads it without console errors,
its DOM holds the matrix, and its screenshot is a 1280x900 PNG that is not blank.

Chromium is Debian's ``chromium`` package: when /usr/bin/chromium is missing, the session
fixture installs it with apt-get (as root), or fails saying how to install it.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pytest

from harness.report import load_results, to_html

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)
WIDTH, HEIGHT = 1280, 900


@pytest.fixture(scope="session")
def chromium() -> Path:
    """/usr/bin/chromium, installed from Debian's packages first when missing (root only)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.fail(
            f"{CHROMIUM} is missing and this process is not root: install Debian's chromium "
            "package (sudo apt-get update && sudo apt-get install -y chromium) and rerun",
            pytrace=False,
        )
    import fcntl  # POSIX only, like apt-get

    started = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", "DPkg::Lock::Timeout=600"]  # another install may hold dpkg's lock
    # One install at a time when several test runs start together (tox -p).
    with open(Path(tempfile.gettempdir()) / "llm-parity-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for command in (["apt-get", "update"], ["apt-get", *wait, "install", "-y", "chromium"]):
            if CHROMIUM.exists():
                break
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                pytest.fail(
                    f"{' '.join(command)} failed ({done.returncode}); cannot install chromium:\n"
                    + (done.stdout + done.stderr)[-2000:],
                    pytrace=False,
                )
    print(f"installed chromium in {time.monotonic() - started:.1f} s", file=sys.stderr)
    if not CHROMIUM.exists():
        pytest.fail(f"apt-get installed chromium but {CHROMIUM} is still missing", pytrace=False)
    return CHROMIUM


def browse(
    chromium: Path, tmp_path: Path, page: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [str(chromium), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def console_errors(stderr: str) -> list[str]:
    """Chromium's log lines for page console messages and uncaught exceptions."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def row(
    provider: str, scenario: str, mode: str, outcome: str = "pass", **extra: object
) -> dict[str, object]:
    return {
        "provider": provider,
        "scenario": scenario,
        "mode": mode,
        "outcome": outcome,
        "duration": 0.01,
        **extra,
    }


@pytest.fixture
def report_page(tmp_path: Path) -> Path:
    """A small two-environment report: passes, failures (one in one environment only), a
    mode that is not supported, a regression with its citation."""
    modes = ("sync", "async", "stream", "astream")
    rows = [
        row(provider, scenario, mode)
        for provider in ("openai", "anthropic", "gemini")
        for scenario in ("plain_text", "system_prompt", "tool_call_single")
        for mode in modes
    ]
    rows[5].update(outcome="fail", differences=[{"field": "text", "expected": "'a'", "got": "'b'"}])
    rows[11].update(outcome="not supported", reason="not supported: astream for openai")
    rows[15].update(outcome="not supported", reason="not supported: astream for anthropic")
    rows.append(
        row(
            "openai",
            "dspy_stream_last_chunk",
            "astream",
            kind="regression",
            title="async streaming drops the last chunk",
            citation="DSPy 2.5.40-2.5.43, stanfordnlp/dspy#1867",
        )
    )
    paths = []
    for env, python in (("py310-floor", "3.10.13"), ("py313-ceiling", "3.13.0")):
        if env == "py313-ceiling":
            rows = [dict(r) for r in rows]
            rows[14].update(outcome="fail", message="AssertionError: streamed != sync")
        document = {
            "format": "llm-parity/1",
            "version": "0.1.0",
            "client": "reference",
            "python": python,
            "created": "2026-11-21T06:00:00Z",
            "results": rows,
        }
        path = tmp_path / f"parity-{env}.json"
        path.write_text(json.dumps(document))
        paths.append(path)
    page = tmp_path / "report.html"
    page.write_text(to_html(load_results(paths)), encoding="utf-8")
    return page


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        chunks.append((data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def png_colours(data: bytes, every: int = 7) -> set[bytes]:
    """Distinct colours of an 8-bit RGB/RGBA PNG (every ``every``-th row, after unfiltering)."""
    chunks = png_chunks(data)
    header = chunks[0][1]
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour_type in (2, 6), f"unexpected PNG type {depth}/{colour_type}"
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * bpp
    previous = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                corner = previous[i - bpp] if i >= bpp else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        if y % every == 0:
            colours.update(bytes(line[x : x + 3]) for x in range(0, stride, bpp))
        previous = line
    return colours


def idat_size(data: bytes) -> int:
    return sum(len(body) for kind, body in png_chunks(data) if kind == b"IDAT")


def screenshot(chromium: Path, tmp_path: Path, page: Path, name: str) -> bytes:
    target = tmp_path / name
    done = browse(
        chromium, tmp_path, page, f"--screenshot={target}", f"--window-size={WIDTH},{HEIGHT}"
    )
    assert target.exists(), f"no screenshot; chromium said:\n{done.stderr[-2000:]}"
    return target.read_bytes()


def test_the_report_loads_without_console_errors_and_shows_the_matrix(
    chromium: Path, tmp_path: Path, report_page: Path
) -> None:
    done = browse(chromium, tmp_path, report_page, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_errors(done.stderr) == []
    dom = done.stdout
    assert '<section id="matrix">' in dom
    assert dom.count('<table class="matrix">') == 3
    assert ">FAIL</td>" in dom and ">FAIL (1/2)</td>" in dom and ">n/s</td>" in dom
    assert "<h3>anthropic</h3>" in dom
    assert "stanfordnlp/dspy#1867" in dom


def test_the_console_check_catches_a_page_error(chromium: Path, tmp_path: Path) -> None:
    """The control for the test above: a page that throws is seen as one."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>throw new Error('boom-1867')</script>")
    done = browse(chromium, tmp_path, page, "--dump-dom")
    assert any("boom-1867" in line for line in console_errors(done.stderr)), done.stderr[-2000:]


def test_the_screenshot_is_a_real_png_that_is_not_blank(
    chromium: Path, tmp_path: Path, report_page: Path
) -> None:
    report = screenshot(chromium, tmp_path, report_page, "report.png")
    blank_page = tmp_path / "blank.html"
    blank_page.write_text("<!DOCTYPE html><html><body></body></html>")
    blank = screenshot(chromium, tmp_path, blank_page, "blank.png")

    assert png_size(report) == (WIDTH, HEIGHT)
    assert png_size(blank) == (WIDTH, HEIGHT)
    # The threshold, checked against a blank page of the same size: a blank 1280x900
    # screenshot compresses to a few kB, the report to tens of kB.
    assert idat_size(blank) < 10_000 < idat_size(report), (idat_size(blank), idat_size(report))
    assert len(png_colours(blank)) == 1
    colours = png_colours(report)
    assert len(colours) > 20  # text anti-aliasing and the green, red and yellow cells
    assert bytes((0xDA, 0xFB, 0xE1)) in colours  # a pass cell's background
    assert bytes((0xFF, 0xEB, 0xE9)) in colours  # a FAIL cell's background
