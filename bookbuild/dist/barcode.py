"""Book barcodes: the EAN-13 of the ISBN with its EAN-5 price add-on, drawn from the symbology's
encoding tables as vector SVG, and read back with zbarimg."""
from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

# The L (odd parity) pattern of each digit; R is its complement and G its mirror image of R.
L_CODES = ("0001101", "0011001", "0010011", "0111101", "0100011",
           "0110001", "0101111", "0111011", "0110111", "0001011")
R_CODES = tuple("".join("1" if bit == "0" else "0" for bit in code) for code in L_CODES)
G_CODES = tuple(code[::-1] for code in R_CODES)
# The first digit is not drawn: it is the parity (L or G) of the six digits on the left.
PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
          "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")
START, MIDDLE, END = "101", "01010", "101"
# ISO/IEC 15420 at 100 % magnification: 0.33 mm modules, bars 22.85 mm tall with the
# guards 5 modules longer, quiet zones of 11 modules on the left and 7 on the right.
MODULE_MM = 0.33
BAR_MM = 22.85
QUIET_LEFT, QUIET_RIGHT = 11, 7
MM_TO_PT = 72 / 25.4
# The EAN-5 add-on (ISO/IEC 15420 annex): the price, 90000 for none; its digits sit above
# its bars, 10 modules after the main symbol (7 to 12 allowed), with 5 of quiet zone after.
ADDON_START, ADDON_SEPARATOR = "1011", "01"
ADDON_PARITY = ("GGLLL", "GLGLL", "GLLGL", "GLLLG", "LGGLL", "LLGGL", "LLLGG", "LGLGL", "LGLLG", "LLGLG")
ADDON_GAP, ADDON_QUIET = 10, 5
NO_PRICE = "90000"
# The first digit of a price add-on names the currency.
CURRENCY_DIGIT = {"USD": "5", "CAD": "6"}


def check_digit(first12: str) -> int:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return (10 - total % 10) % 10


def modules(ean: str) -> str:
    """The 95 modules of an EAN-13 symbol, "1" for a bar and "0" for a space."""
    if len(ean) != 13 or not ean.isdigit() or check_digit(ean[:12]) != int(ean[12]):
        raise ValueError(f"{ean!r} is not an EAN-13 with a correct check digit")
    left = "".join((L_CODES if parity == "L" else G_CODES)[int(d)]
                   for parity, d in zip(PARITY[int(ean[0])], ean[1:7]))
    right = "".join(R_CODES[int(d)] for d in ean[7:])
    return START + left + MIDDLE + right + END


def addon_modules(code: str) -> str:
    """The 47 modules of an EAN-5 add-on."""
    if len(code) != 5 or not code.isdigit():
        raise ValueError(f"{code!r} is not a five-digit add-on")
    digits = [int(d) for d in code]
    parity = ADDON_PARITY[(3 * (digits[0] + digits[2] + digits[4]) + 9 * (digits[1] + digits[3])) % 10]
    return ADDON_START + ADDON_SEPARATOR.join(
        (L_CODES if p == "L" else G_CODES)[d] for p, d in zip(parity, digits))


def price_addon(price: str) -> str:
    """`24.95 USD` → 52495; no price → 90000 (what US book trade barcodes carry without one)."""
    if not price:
        return NO_PRICE
    amount, _, currency = price.partition(" ")
    cents = round(float(amount) * 100)
    if currency not in CURRENCY_DIGIT or not 0 <= cents <= 9999:
        raise ValueError(f"{price!r}: a price up to 99.99 in {' or '.join(CURRENCY_DIGIT)}")
    return CURRENCY_DIGIT[currency] + f"{cents:04d}"


def _guard_modules() -> set[int]:
    """Modules of the start, middle and end guards: their bars run down into the digits."""
    middle = len(START) + 42
    end = middle + len(MIDDLE) + 42
    return {*range(len(START)), *range(middle, middle + len(MIDDLE)), *range(end, end + len(END))}


@dataclass(frozen=True)
class Symbol:
    """An EAN-13 symbol laid out in points: its bars, and a 7-module cell for each digit of
    the human-readable line (the first digit in the left quiet zone)."""

    ean: str
    addon: str
    module: float
    width: float
    height: float
    bar_height: float
    bars: list[tuple[float, float, float, float]]   # x, y, width, height
    digits: list[tuple[str, float, float]]           # digit, left, width (below the main bars)
    addon_digits: list[tuple[str, float, float]]     # digit, left, width (above the add-on's bars)
    digit_size: float


def _runs(bits: str, first: int, m: float, height_of) -> list[tuple[float, float, float, float]]:
    """Bars as merged runs of modules, so that a scanner sees clean edges at any resolution."""
    bars, start = [], None
    for i, bit in enumerate(bits + "0"):
        if bit == "1" and start is None:
            start = i
        elif bit == "0" and start is not None:
            top, height = height_of(start)
            bars.append(((first + start) * m, top, (i - start) * m, height))
            start = None
    return bars


def symbol(ean: str, addon: str = NO_PRICE, scale: float = 1.0) -> Symbol:
    """The EAN-13 and its add-on laid out in points."""
    m = MODULE_MM * MM_TO_PT * scale
    bar = BAR_MM * MM_TO_PT * scale
    guards = _guard_modules()
    bars = _runs(modules(ean), QUIET_LEFT, m, lambda i: (0.0, bar + 5 * m if i in guards else bar))
    first_addon = QUIET_LEFT + 95 + ADDON_GAP
    addon_top = 9 * m
    bars += _runs(addon_modules(addon), first_addon, m, lambda i: (addon_top, bar + 5 * m - addon_top))
    cells = [QUIET_LEFT - 8] + [QUIET_LEFT + 3 + 7 * i for i in range(6)] \
        + [QUIET_LEFT + 3 + 42 + 5 + 7 * i for i in range(6)]
    digits = [(d, cell * m, 7 * m) for d, cell in zip(ean, cells)]
    addon_digits = [(d, (first_addon + len(ADDON_START) + 9 * i) * m, 7 * m) for i, d in enumerate(addon)]
    width = (first_addon + 47 + ADDON_QUIET) * m
    return Symbol(ean, addon, m, width, bar + 9 * m, bar, bars, digits, addon_digits, 8 * m)


def svg(mark: Symbol, bar_color: str = "black") -> str:
    """The bars as vector SVG in points, quiet zones included; the digits are set as text by
    the page around it, in the book's face with lining figures."""
    rects = "".join(f'<rect x="{x:.3f}" y="{y:.3f}" width="{w:.3f}" height="{h:.3f}"/>'
                    for x, y, w, h in mark.bars)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{mark.width:.3f}pt" '
            f'height="{mark.height:.3f}pt" viewBox="0 0 {mark.width:.3f} {mark.height:.3f}" role="img" '
            f'aria-label="EAN-13 {escape(mark.ean)} with add-on {escape(mark.addon)}">'
            f'<g fill="{escape(bar_color)}">{rects}</g></svg>')


def scan(pdf: bytes, dpi: int = 300) -> list[str]:
    """Every barcode zbarimg reads on the PDF's first page, rendered as a scanner would see it."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "cover.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-gray", "-singlefile", "-r", str(dpi), str(source),
                        str(Path(tmp) / "cover")], check=True, capture_output=True)
        # zbarimg exits 4 when it finds no symbol; the empty list says so.
        found = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sean5.enable", str(Path(tmp) / "cover.png")],
                               capture_output=True, text=True)
    return found.stdout.split()
