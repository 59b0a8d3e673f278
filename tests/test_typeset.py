"""The typeset report (bookbuild/typesetreport.py) on a fixture book with planted faults."""
from __future__ import annotations

from pathlib import Path

import pytest

from bookbuild.errors import BuildError
from bookbuild.print.engine import standalone_pdf
from bookbuild.typesetreport import as_text, report

FIXTURE = Path(__file__).parent / "fixtures" / "typeset"


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> dict:
    html = (FIXTURE / "planted.html").read_text(encoding="utf-8")
    data, warnings = standalone_pdf(html, base_url=FIXTURE.as_uri() + "/")
    assert warnings == []
    pdf = tmp_path_factory.mktemp("typeset") / "planted.pdf"
    pdf.write_bytes(data)
    return report(pdf, FIXTURE)


def test_loose_lines_found_in_body_and_notes(planted):
    total = planted["total"]
    assert total["over_3x"]["body"] >= 1 and total["over_3x"]["notes"] == 1
    assert total["worst_at"] == "1" and total["worst_stretch"] > 10
    second = planted["units"]["The Second Unit"]
    assert second["over_3x"] == {"body": 0, "notes": 1}


def test_hyphens_runs_names_and_page_ends(planted):
    total = planted["total"]
    assert total["hyphenated_lines"] == 4
    assert total["hyphen_runs_3plus"] == 1 and total["longest_hyphen_run"] == 3
    assert planted["details"]["split_names"] == ["1: Trotsky"]
    assert total["pages_ending_hyphen"] == 1 and total["across_page_turn"] == 1


def test_widow_orphan_short_page_spread_and_title(planted):
    details = planted["details"]
    assert [w.split(":")[0] for w in details["widows"]] == ["4"]
    assert [o.split(":")[0] for o in details["orphans"]] == ["6"]
    assert details["short_pages"] == ["2: 36 lines short"]
    assert planted["total"]["spreads"] == 1 and planted["total"]["spreads_unaligned"] == 1
    assert [t.split(":")[0] for t in details["titles_single_word"]] == ["1"]


def test_text_report_names_every_unit(planted):
    text = as_text(planted)
    assert "The Second Unit" in text and "split personal names: 1" in text


def test_unreadable_pdf_is_a_located_error(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"not a pdf")
    with pytest.raises(BuildError) as caught:
        report(broken, FIXTURE)
    assert caught.value.problems[0].code == "T001"


def test_titles_keep_their_last_two_words_together():
    from bookbuild.print.layout import balanced_title

    assert balanced_title("The Case of the <q>Bukharin School</q>") == \
        "The Case of the <q>Bukharin\u00a0School</q>"
    assert balanced_title("Famine") == "Famine"
    assert balanced_title("Stalin <em>Retreats</em>") == "Stalin\u00a0<em>Retreats</em>"


def test_the_numero_sign_no_longer_keeps_a_note_from_wrapping():
    from bookbuild.print import engine
    from bookbuild.print.layout import numero_apart

    note = ('<section class="endnotes"><ol><li><p><em>Biulleten’ oppozitsii</em>, 1929, № 1–2, '
            'p.\u00a022. [“Groupings in the Communist Opposition,” <em>Writings of Leon Trotsky '
            '(1929)</em>, pp. 84–85].</p></li></ol></section>')
    page = "@page { size: 432pt 648pt; margin: 63pt 45pt 53pt 63pt }"

    def first_line(html: str) -> str:
        document = engine.render(f'<html lang="en"><body>{html}</body></html>', page, str(FIXTURE))
        lines = [i.box for i in engine.flow_items(engine.page_boxes(document)) if engine.is_line(i.box)]
        return engine.box_text(lines[0])

    assert first_line(note).strip() == "Biulleten’ oppozitsii,"  # Pango's fault, as found
    assert "1929" in first_line(numero_apart(note))
    assert numero_apart('<a title="№ 1">№ 2</a>') == '<a title="№ 1"><span class="numero">№</span> 2</a>'


def test_a_centred_line_at_the_face_s_spacing_is_not_justified():
    """A caption's last line, centred, whose margins happen to be a quotation's (the real book's
    folio 239 counted one as an orphan): its spaces are the face's own."""
    from bookbuild.typesetreport import BLOCKQUOTE_INSET, Line, mark_justified

    left, right = 63.0, 387.0
    caption = Line(0, left + BLOCKQUOTE_INSET, right - BLOCKQUOTE_INSET, 500.0, 9.5, "shock-work tempos",
                   [1.0, 1.0, 1.0], 1.9)
    quotation = Line(0, left + BLOCKQUOTE_INSET, right - BLOCKQUOTE_INSET, 514.0, 9.5, "a quoted line",
                     [1.4, 1.4, 1.4], 1.9)
    mark_justified([caption, quotation], (left, right))
    assert not caption.justified and quotation.justified


def test_loose_lines_are_listed_with_their_pages(planted):
    loose = planted["details"]["loose_lines"]
    assert loose and loose[0].startswith("1: ")
    assert len(loose) == sum(planted["total"]["over_2x"].values())
