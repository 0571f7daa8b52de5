"""The built documentation site: it renders in a browser, and its internal links resolve.

Slow (a Sphinx build and a headless browser), so deselected by default; run with
``pytest -m slow tests/test_docs_site.py``. The HTML is built into a temporary directory, or
taken from ``TAPEGRAD_DOCS_HTML`` when that names an existing build. Screenshots need a
Chromium (or Chrome) binary: ``CHROMIUM`` names one, else the usual names are looked up on
``PATH``; without one those tests skip. ``TAPEGRAD_DOCS_SCREENSHOTS`` names a directory to
keep the screenshots in. Nothing here uses the network.
"""

from __future__ import annotations

import importlib
import os
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
WINDOW = (1280, 900)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--mute-audio",
)


# ------------------------------------------------------------------------------ the build


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the built HTML site."""
    given = os.environ.get("TAPEGRAD_DOCS_HTML")
    if given:
        path = Path(given)
        if not (path / "index.html").is_file():
            pytest.fail(f"TAPEGRAD_DOCS_HTML={given} holds no index.html")
        return path
    pytest.importorskip("sphinx", reason="building the documentation needs Sphinx")
    pytest.importorskip("furo", reason="the documentation's theme is furo")
    out = tmp_path_factory.mktemp("docs") / "html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    return out


# ------------------------------------------------------------------------------ links


class _LinkParser(HTMLParser):
    """Collects the ids a page defines and the URLs it refers to."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(values[key])  # type: ignore[arg-type]
        for key in ("href", "src"):
            url = values.get(key)
            if url is not None and not (tag == "a" and key == "src"):
                self.urls.append((tag, url))


def _is_internal(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("//"):
        return False  # http(s), mailto, data:, javascript: and protocol-relative URLs
    return bool(url)


def _parse(path: Path, cache: dict[Path, _LinkParser]) -> _LinkParser:
    if path not in cache:
        parser = _LinkParser()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = parser
    return cache[path]


def test_internal_links_resolve(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 10, f"only {len(pages)} pages built"
    cache: dict[Path, _LinkParser] = {}
    broken: list[str] = []
    checked = 0
    for page in pages:
        for tag, url in _parse(page, cache).urls:
            if not _is_internal(url):
                continue
            parts = urlsplit(url)
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if parts.path.endswith("/") or target.is_dir():
                target = target / "index.html"
            checked += 1
            where = f"{page.relative_to(site)}: <{tag}> {url}"
            if not target.is_file():
                broken.append(f"{where} -> missing file")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                if fragment not in _parse(target, cache).ids:
                    broken.append(f"{where} -> no anchor #{fragment}")
    assert checked > 100, f"only {checked} internal links found"
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:50])


def test_api_reference_lists_the_public_names(site: Path) -> None:
    """Every public name of the namespaces the reference walks has an anchor of its own."""
    html = "\n".join(p.read_text(encoding="utf-8") for p in (site / "api").glob("*.html"))
    missing = []
    for modname in (
        "tapegrad",
        "tapegrad.nn",
        "tapegrad.nn.functional",
        "tapegrad.optim",
        "tapegrad.autograd",
        "tapegrad.testing",
        "tapegrad.numpy",
    ):
        try:
            module = importlib.import_module(modname)
        except ImportError:
            continue
        for name in getattr(module, "__all__", []):
            value = getattr(module, name, None)
            if type(value).__name__ in ("module", "_Feature"):
                continue
            if f'id="{modname}.{name}"' not in html:
                missing.append(f"{modname}.{name}")
    assert not missing, f"not in the API reference: {missing}"


# ------------------------------------------------------------------------------ screenshots


def _browser() -> str | None:
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _png_pixels(data: bytes) -> tuple[int, int, bytes, int]:
    """Width, height, the unfiltered scanlines and bytes per pixel of an 8-bit PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos = 8
    width = height = 0
    bpp = 0
    idat = b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and interlace == 0, "expected an 8-bit, non-interlaced PNG"
            bpp = {0: 1, 2: 3, 4: 2, 6: 4}[color]
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    assert len(raw) == height * (stride + 1), "truncated image data"
    out = bytearray()
    prev = bytearray(stride)
    for row in range(height):
        ftype = raw[row * (stride + 1)]
        line = bytearray(raw[row * (stride + 1) + 1 : (row + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            if ftype == 1:
                line[i] = (line[i] + left) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + up) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif ftype == 4:
                ul = prev[i - bpp] if i >= bpp else 0
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
                line[i] = (line[i] + pred) & 0xFF
        out += line
        prev = line
    return width, height, bytes(out), bpp


def _screenshot(browser: str, page: Path, png: Path, profile: Path) -> None:
    cmd = [
        browser,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{browser} did not finish the screenshot of {page.name} in 120 s")
    assert png.is_file(), f"no screenshot written (exit {proc.returncode}):\n{proc.stderr[-2000:]}"


@pytest.mark.parametrize(
    ("page", "expected_text"),
    [("index.html", "tapegrad"), ("api.html", "API reference")],
)
def test_page_renders_in_chromium(
    site: Path, tmp_path: Path, page: str, expected_text: str
) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium or Chrome binary found (set CHROMIUM, or install chromium)")
    target = site / page
    assert expected_text in target.read_text(encoding="utf-8")
    png = tmp_path / (Path(page).stem + ".png")
    _screenshot(browser, target, png, tmp_path / "profile")
    data = png.read_bytes()
    keep = os.environ.get("TAPEGRAD_DOCS_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, Path(keep) / png.name)

    width, height, pixels, bpp = _png_pixels(data)
    assert (width, height) == WINDOW, f"screenshot is {width}x{height}, expected {WINDOW}"
    # A rendered page has text and a sidebar: many distinct colours, and neither a blank
    # page nor an error page with one line on it.
    samples = [pixels[i : i + 3] for i in range(0, len(pixels), bpp * 7)]
    colours = set(samples)
    assert len(colours) > 20, f"the screenshot of {page} looks blank ({len(colours)} colours)"
    ink = sum(1 for c in samples if max(c) < 128)
    assert ink > 500, f"the screenshot of {page} has almost no dark pixels ({ink})"
