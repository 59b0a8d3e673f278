"""PDF/X-1a:2003 for the printer: interiors and covers made press-ready, then checked."""
from __future__ import annotations

import hashlib
import io
import zlib
from datetime import datetime

import pikepdf
from pikepdf import Name

# PDF/X-1a rather than or X-5g: the interior prints in black only and the
# cover in CMYK, which is all X-1a allows, and it is what book printers ask for.
# X-4 and X-5g would also need an XMP DocumentID, which WeasyPrint makes random
# (uuid4), so no two builds of the same sources would be byte-identical.
VERSION = "PDF/X-1a:2003"
# What WeasyPrint is asked for where it writes the final file (the covers); the
# interiors are assembled by pikepdf from parts, so `press` sets their markers.
WEASYPRINT_VARIANT = "pdf/x-1a"
# A registered characterization needs no embedded ICC profile (ISO 15930-4, 6.2.2), and
# none ships with Debian. SWOP is the condition US printers name for covers; the
# black-only interior prints the same under any CMYK condition.
OUTPUT_CONDITION = "CGATS TR 001"
OUTPUT_INFO = "U.S. Web Coated (SWOP) v2"
REGISTRY = "http://www.color.org"
PROCESS_SPACES = {"/DeviceGray", "/DeviceCMYK"}
NONE = Name("/None")


class Press:
    """Walks every content stream of a PDF once: RGB colour becomes gray (a black-only
    page), images become gray, links go; what X-1a forbids and cannot be fixed
    (transparency, other colour spaces, shadings) is listed."""

    def __init__(self, pdf: pikepdf.Pdf, fix: bool):
        self.pdf = pdf
        self.fix = fix
        self.violations: list[str] = []
        self.seen: set[tuple[int, int]] = set()

    def run(self) -> list[str]:
        for number, page in enumerate(self.pdf.pages, start=1):
            where = f"page {number}"
            if "/Annots" in page.obj:
                if self.fix:
                    del page.obj.Annots
                else:
                    self.violations.append(f"{where}: annotations (X-1a allows none on the printed area)")
            if "/Group" in page.obj:
                self._group(page.obj, where)
            self._boxes(page.obj, where)
            self._stream(page.obj, page.obj.get("/Resources", pikepdf.Dictionary()), where)
        return self.violations

    def _boxes(self, page, where: str) -> None:
        media = _box(page.MediaBox)
        trim = _box(page.get("/TrimBox", page.MediaBox))
        bleed = _box(page.get("/BleedBox", page.MediaBox))
        if "/TrimBox" not in page:
            self.violations.append(f"{where}: no TrimBox")
        if not (_inside(trim, bleed) and _inside(bleed, media)):
            self.violations.append(f"{where}: TrimBox, BleedBox and MediaBox not nested")

    def _group(self, obj, where: str) -> None:
        if obj.Group.get("/S") == Name.Transparency:
            self.violations.append(f"{where}: transparency group (CSS opacity?)")

    def _stream(self, owner, resources, where: str) -> None:
        key = owner.objgen
        if key != (0, 0):
            if key in self.seen:
                return
            self.seen.add(key)
        self._resources(resources)
        changed = False
        out = []
        spaces = {"fill": "/DeviceGray", "stroke": "/DeviceGray"}
        for item in pikepdf.parse_content_stream(owner):
            if isinstance(item, pikepdf.ContentStreamInlineImage):
                self.violations.append(f"{where}: inline image")
                out.append(item)
                continue
            operands, operator = item
            op = str(operator)
            if op in ("rg", "RG"):
                if self.fix:
                    r, g, b = (float(v) for v in operands)
                    gray = round(0.299 * r + 0.587 * g + 0.114 * b, 4)
                    item = pikepdf.ContentStreamInstruction([gray], pikepdf.Operator(op.replace("rg", "g")
                                                                                     .replace("RG", "G")))
                    changed = True
                else:
                    self.violations.append(f"{where}: RGB colour ({op})")
            elif op in ("cs", "CS"):
                space = self._space(resources, operands[0])
                spaces["fill" if op == "cs" else "stroke"] = space
                if space not in PROCESS_SPACES:
                    self.violations.append(f"{where}: colour space {space}")
            elif op in ("sc", "scn", "SC", "SCN"):
                space = spaces["fill" if op in ("sc", "scn") else "stroke"]
                if space not in PROCESS_SPACES:
                    self.violations.append(f"{where}: colour in {space}")
            elif op == "sh":
                self.violations.append(f"{where}: smooth shading")
            elif op == "gs":
                self._ext_gstate(resources, operands[0], where)
            elif op == "Do":
                self._xobject(resources, operands[0], where)
            out.append(item)
        if changed:
            data = pikepdf.unparse_content_stream(out)
            if isinstance(owner, pikepdf.Stream):
                owner.write(data)
            else:
                owner.Contents = self.pdf.make_stream(data)

    def _space(self, resources, name) -> str:
        if str(name) in PROCESS_SPACES:
            return str(name)
        entry = resources.get("/ColorSpace", {}).get(name)
        family = entry[0] if isinstance(entry, pikepdf.Array) else entry
        return str(family) if family is not None else str(name)

    def _resources(self, resources) -> None:
        """Colour spaces outside X-1a are dropped (WeasyPrint declares two Lab ones for
        every page); content that sets one is reported by `cs` all the same."""
        spaces = resources.get("/ColorSpace")
        if self.fix and spaces is not None:
            for name in list(spaces.keys()):
                entry = spaces[name]
                family = entry[0] if isinstance(entry, pikepdf.Array) else entry
                if str(family) not in PROCESS_SPACES:
                    del spaces[name]

    def _ext_gstate(self, resources, name, where: str) -> None:
        state = resources.get("/ExtGState", {}).get(name)
        if state is None:
            return
        for key in ("/ca", "/CA"):
            if key in state and float(state[key]) != 1:
                self.violations.append(f"{where}: transparency ({key} {float(state[key])})")
        if state.get("/SMask", NONE) != NONE:
            self.violations.append(f"{where}: soft mask")
        if str(state.get("/BM", "/Normal")) not in ("/Normal", "/Compatible"):
            self.violations.append(f"{where}: blend mode {state.BM}")

    def _xobject(self, resources, name, where: str) -> None:
        xobject = resources.get("/XObject", {}).get(name)
        if xobject is None:
            return
        if xobject.get("/Subtype") == Name.Form:
            if "/Group" in xobject:
                self._group(xobject, where)
            self._stream(xobject, xobject.get("/Resources", resources), where)
        elif xobject.get("/Subtype") == Name.Image:
            self._image(xobject, where)

    def _image(self, image, where: str) -> None:
        key = image.objgen
        if key in self.seen:
            return
        self.seen.add(key)
        space = image.get("/ColorSpace")
        ok = (str(space) in PROCESS_SPACES and "/SMask" not in image and "/Mask" not in image) \
            or image.get("/ImageMask", False)
        if ok:
            return
        if not self.fix:
            self.violations.append(f"{where}: image in {space} or with a mask")
            return
        gray_image(image)


def fonts_for_x1a(pdf: pikepdf.Pdf) -> None:
    """Every font program in a form PDF 1.3/1.4 knows, under a subset tag of its own.

    WeasyPrint embeds CFF-flavoured OpenType whole (FontFile3 /OpenType, a PDF 1.6
    feature that X-1a preflights refuse); the CFF table inside it is the same
    outlines as a bare CIDFontType0C program. A CFF without CID operators is indexed
    by glyph id (ISO 32000-1, 9.7.4.2), which is what WeasyPrint's Identity CIDs
    are. And each part of an interior was subset on its own under a tag WeasyPrint
    derives from the face's name, so one tag names many programs; the tag is
    made again from the program's bytes."""
    from fontTools.ttLib import TTFont

    tags: dict[bytes, str] = {}
    for descendant, parents in _descendant_fonts(pdf):
        descriptor = descendant.get("/FontDescriptor")
        if descriptor is None:
            continue
        program = _font_program(descriptor)
        if program is None:
            continue
        key, stream = program
        if stream.get("/Subtype") == Name.OpenType:
            font = TTFont(io.BytesIO(stream.read_bytes()))
            if "CFF " in font:
                stream.write(font.reader["CFF "])
                stream.Subtype = Name.CIDFontType0C
                if "/CIDToGIDMap" in descendant:
                    del descendant["/CIDToGIDMap"]
        digest = hashlib.sha256(stream.read_bytes()).digest()
        tag = tags.get(digest) or _new_tag(digest, set(tags.values()))
        tags[digest] = tag
        _retag([descendant, *parents], descriptor, tag)


def _descendant_fonts(pdf: pikepdf.Pdf):
    """Each font dictionary that owns a descriptor, once, with the Type0 fonts over it."""
    parents: dict[tuple[int, int], list] = {}
    fonts: dict[tuple[int, int], pikepdf.Dictionary] = {}
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != Name.Font:
            continue
        if obj.get("/Subtype") == Name.Type0:
            for descendant in obj.get("/DescendantFonts", []):
                fonts[descendant.objgen] = descendant
                parents.setdefault(descendant.objgen, []).append(obj)
        else:
            fonts.setdefault(obj.objgen, obj)
    for key, font in fonts.items():
        yield font, parents.get(key, [])


def _font_program(descriptor):
    for key in ("/FontFile", "/FontFile2", "/FontFile3"):
        if key in descriptor:
            return key, descriptor[key]
    return None


def _new_tag(digest: bytes, taken: set[str]) -> str:
    """Six capital letters from the program's hash; the next hash on a collision."""
    while True:
        tag = "".join(chr(65 + b % 26) for b in digest[:6])
        if tag not in taken:
            return tag
        digest = hashlib.sha256(digest).digest()


def _retag(fonts: list, descriptor, tag: str) -> None:
    name = str(descriptor.FontName).lstrip("/")
    base = name.split("+", 1)[1] if name[6:7] == "+" else name
    descriptor.FontName = Name(f"/{tag}+{base}")
    for font in fonts:
        font.BaseFont = Name(f"/{tag}+{base}")


def gray_image(image) -> None:
    """The image in DeviceGray, flattened on white paper: a black-only page prints no colour,
    and X-1a allows no soft masks. JPEGs stay JPEGs (quality 92), others are deflated."""
    from PIL import Image

    picture = pikepdf.PdfImage(image).as_pil_image()
    if "/SMask" in image:
        alpha = pikepdf.PdfImage(image.SMask).as_pil_image().convert("L").resize(picture.size)
        white = Image.new("RGB", picture.size, "white")
        picture = Image.composite(picture.convert("RGB"), white, alpha)
    picture = picture.convert("L")
    jpeg = image.get("/Filter") == Name.DCTDecode
    if jpeg:
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=92, optimize=True)
        image.write(buffer.getvalue(), filter=Name.DCTDecode)
    else:
        image.write(zlib.compress(picture.tobytes(), 9), filter=Name.FlateDecode)
    for key in ("/SMask", "/Mask", "/Decode", "/DecodeParms", "/Intent"):
        if key in image:
            del image[key]
    image.ColorSpace = Name.DeviceGray
    image.BitsPerComponent = 8
    image.Width, image.Height = picture.size


def _box(array) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in array)
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _inside(inner, outer, tolerance: float = 0.01) -> bool:
    return (inner[0] >= outer[0] - tolerance and inner[1] >= outer[1] - tolerance
            and inner[2] <= outer[2] + tolerance and inner[3] <= outer[3] + tolerance)


def press(data: bytes, title: str, moment: datetime, even: bool = False) -> tuple[bytes, list[str]]:
    """The PDF as PDF/X-1a:2003, and what keeps it from being one (empty when it is).

    `even` appends a blank page to an odd page count: a leaf has two sides, and a
    printer counts the blank it would add in the spine."""
    stamp = moment.strftime("D:%Y%m%d%H%M%SZ")
    with pikepdf.open(io.BytesIO(data)) as pdf:
        violations = Press(pdf, fix=True).run()
        fonts_for_x1a(pdf)
        if even and len(pdf.pages) % 2:
            last = pdf.pages[-1].obj
            blank = pdf.add_blank_page(page_size=(72, 72))
            # An empty content stream is saved as zero bytes marked FlateDecode, which
            # Ghostscript reports as a drawing error: the blank page draws nothing, explicitly.
            blank.obj.Contents = pdf.make_stream(b"q Q\n")
            for key in ("/MediaBox", "/TrimBox", "/BleedBox"):
                if key in last:
                    blank.obj[key] = pikepdf.Array(list(last[key]))
        pdf.Root.OutputIntents = pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary(
            Type=Name.OutputIntent, S=Name.GTS_PDFX,
            OutputConditionIdentifier=pikepdf.String(OUTPUT_CONDITION),
            RegistryName=pikepdf.String(REGISTRY), Info=pikepdf.String(OUTPUT_INFO)))])
        info = pdf.docinfo
        # X-1a:2003 is named by its version key alone; WeasyPrint also writes the
        # conformance key of X-1a:2001.
        if "/GTS_PDFXConformance" in info:
            del info["/GTS_PDFXConformance"]
        info.Title = pikepdf.String(title)
        info.GTS_PDFXVersion = pikepdf.String(VERSION)
        info.Trapped = Name("/False")
        info.CreationDate = pikepdf.String(stamp)
        info.ModDate = pikepdf.String(stamp)
        info.Producer = pikepdf.String("bookbuild (WeasyPrint, pikepdf)")
        iso = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        # Set one by one: load_from_docinfo has no XMP home for Trapped and the PDF/X key.
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as xmp:
            xmp["dc:title"] = title
            xmp["pdf:Producer"] = str(info.Producer)
            xmp["pdf:Trapped"] = "False"
            xmp["pdfxid:GTS_PDFXVersion"] = VERSION
            xmp["xmp:CreateDate"] = iso
            xmp["xmp:ModifyDate"] = iso
        buffer = io.BytesIO()
        # PDF/X-1a:2003 is PDF 1.4: no object streams.
        pdf.save(buffer, deterministic_id=True, force_version="1.4",
                 object_stream_mode=pikepdf.ObjectStreamMode.disable, compress_streams=True)
    out = buffer.getvalue()
    return out, list(dict.fromkeys(violations + verify(out)))


def verify(data: bytes) -> list[str]:
    """What a preflight for PDF/X-1a:2003 would object to, as far as we produce it."""
    found = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        if pdf.pdf_version != "1.4":
            found.append(f"PDF version {pdf.pdf_version}, X-1a:2003 needs 1.4")
        intents = pdf.Root.get("/OutputIntents", [])
        if not any(i.get("/S") == Name.GTS_PDFX for i in intents):
            found.append("no PDF/X output intent")
        info = pdf.docinfo
        if str(info.get("/GTS_PDFXVersion", "")) != VERSION:
            found.append("GTS_PDFXVersion missing")
        if info.get("/Trapped") not in (Name("/True"), Name("/False")):
            found.append("Trapped is neither True nor False")
        for key in ("/Title", "/CreationDate", "/ModDate"):
            if key not in info:
                found.append(f"{key[1:]} missing from the document information")
        if "/ID" not in pdf.trailer:
            found.append("no file identifier")
        if pdf.is_encrypted:
            found.append("encrypted")
        found += Press(pdf, fix=False).run()
        found += font_violations(pdf)
    return found


def font_violations(pdf: pikepdf.Pdf) -> list[str]:
    """Fonts as an X-1a preflight reads them: every program embedded, none of them
    OpenType (PDF 1.6), and no subset tag naming two different programs."""
    found = []
    programs: dict[str, set[bytes]] = {}
    for font, _parents in _descendant_fonts(pdf):
        if font.get("/Subtype") == Name.Type3:
            continue
        descriptor = font.get("/FontDescriptor")
        name = str(font.get("/BaseFont", "?")).lstrip("/")
        program = _font_program(descriptor) if descriptor is not None else None
        if program is None:
            found.append(f"font {name}: not embedded")
            continue
        key, stream = program
        if stream.get("/Subtype") == Name.OpenType:
            found.append(f"font {name}: OpenType font program ({key[1:]}/OpenType needs PDF 1.6)")
        if name[6:7] == "+":
            programs.setdefault(name[:6], set()).add(hashlib.sha256(stream.read_bytes()).digest())
    found += [f"subset tag {tag} names {len(p)} different font programs"
              for tag, p in sorted(programs.items()) if len(p) > 1]
    return found
