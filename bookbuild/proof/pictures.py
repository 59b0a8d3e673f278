"""PNG pictures of the interior: the spread of every unit's opening, and contact sheets of all pages."""
from __future__ import annotations

import io
import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .interior import Interior

SPREAD_DPI = 60
THUMB_DPI = 20
PER_SHEET = 60
COLUMNS = 10
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(FONT), size) if FONT.exists() else ImageFont.load_default()


def render(pdf: bytes, dpi: int, pages: list[int] | None = None) -> list:
    """PIL images of the trim area of `pages` (default: all), rendered by pdftoppm in parallel
    runs; the bleed is cut off, so pages look as trimmed."""
    import pikepdf
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pages.pdf"
        with pikepdf.open(io.BytesIO(pdf)) as source:
            wanted = list(range(len(source.pages))) if pages is None else sorted(pages)
            trim = [float(v) for v in source.pages[0].trimbox]
            media = [float(v) for v in source.pages[0].mediabox]
            keep = set(wanted)
            for i in reversed(range(len(source.pages))):
                if i not in keep:
                    del source.pages[i]
            source.save(path)
        count = len(wanted)
        runs = max(1, min(os.cpu_count() or 1, count // 20 or 1))
        bounds = [(count * k // runs + 1, count * (k + 1) // runs) for k in range(runs)]

        def run(bound: tuple[int, int]) -> None:
            subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", str(bound[0]), "-l", str(bound[1]),
                            str(path), str(Path(tmp) / "p")], check=True, capture_output=True)
        with ThreadPoolExecutor(runs) as pool:
            list(pool.map(run, bounds))
        files = sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        scale = dpi / 72
        box = (round((trim[0] - media[0]) * scale), round((media[3] - trim[3]) * scale),
               round((trim[2] - media[0]) * scale), round((media[3] - trim[1]) * scale))
        images = []
        for file in files:
            with Image.open(file) as image:
                images.append(image.convert("RGB").crop(box))
    return images


def spreads(interior: Interior, folder: Path, titles: dict[str, str]) -> list[Path]:
    """`NN-<part>.png` for every opening: the verso facing it on the left, the opening on the right."""
    from PIL import Image, ImageDraw

    if not interior.openings:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    needed = sorted({p for _, first in interior.openings for p in (first - 1, first) if p >= 0})
    images = dict(zip(needed, render(interior.pdf, SPREAD_DPI, needed)))
    width, height = images[needed[0]].size
    font = _font(12)
    made = []
    for n, (key, first) in enumerate(interior.openings, start=1):
        sheet = Image.new("RGB", (2 * width + 60, height + 60), "#d8d8d8")
        # Folios under the outer corners, as printed; the unit's title between them.
        for column, page in enumerate((first - 1, first)):
            x = 20 + column * (width + 20)
            if page in images:
                sheet.paste(images[page], (x, 20))
                ImageDraw.Draw(sheet).text((x + column * width, height + 26), interior.labels[page],
                                           fill="#333", font=font, anchor="ra" if column else "la")
        ImageDraw.Draw(sheet).text((width + 30, height + 26), titles.get(key, key)[:60], fill="#333",
                                   font=font, anchor="ma")
        path = folder / f"{n:02d}-{key}.png"
        _save(sheet, path)
        made.append(path)
    _remove_others(folder, "*.png", made)
    return made


def contact_sheets(interior: Interior, folder: Path, slug) -> list[Path]:
    """`contact-sheet-NN.png`, 60 places each: pages in spreads, versos left of their rectos (the
    first page, a recto, sits in the second place), each with its folio under it."""
    from PIL import Image, ImageDraw

    images = render(interior.pdf, THUMB_DPI)
    if not images:
        return []
    width, height = images[0].size
    gap, pair_gap, label, head = 6, 18, 16, 30
    rows = PER_SHEET // COLUMNS
    sheet_w = 20 * 2 + COLUMNS * width + (COLUMNS // 2) * gap + (COLUMNS // 2 - 1) * pair_gap
    sheet_h = head + rows * (height + label + gap) + 20
    offset = interior.book_pages[0] % 2 == 0
    places = len(images) + offset
    count = (places + PER_SHEET - 1) // PER_SHEET
    small, font = _font(10), _font(12)
    made = []
    for s in range(count):
        sheet = Image.new("RGB", (sheet_w, sheet_h), "#d8d8d8")
        draw = ImageDraw.Draw(sheet)
        shown = [i for i in range(len(images)) if (i + offset) // PER_SHEET == s]
        draw.text((20, 8), f"PROOF · {slug.title} · {slug.version} · {slug.date} · pages "
                           f"{interior.labels[shown[0]]}–{interior.labels[shown[-1]]} · "
                           f"contact sheet {s + 1} of {count}", fill="#222", font=font)
        for i in shown:
            place = (i + offset) % PER_SHEET
            row, column = divmod(place, COLUMNS)
            x = 20 + column * width + (column // 2) * (gap + pair_gap) + (column % 2) * gap
            y = head + row * (height + label + gap)
            sheet.paste(images[i], (x, y))
            draw.text((x + width // 2, y + height + 2), interior.labels[i], fill="#222", font=small, anchor="ma")
        path = folder / f"contact-sheet-{s + 1:02d}.png"
        _save(sheet, path)
        made.append(path)
    _remove_others(folder, "contact-sheet-*.png", made)
    return made


def _remove_others(folder: Path, pattern: str, made: list[Path]) -> None:
    """Pictures of an earlier proof (a unit since renamed, a shorter book) would pass for current."""
    for stale in folder.glob(pattern):
        if stale not in made:
            stale.unlink()


def _save(image, path: Path) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    image.save(tmp, format="PNG", compress_level=3)
    os.replace(tmp, path)
