from hypothesis import given, settings, strategies as st

from index.segment import MAX_SENTENCE_CHARS, sentence_spans


def sentences(text):
    return [text[s.start : s.end] for s in sentence_spans(text)]


def test_abbreviations_decimals_and_quotes_do_not_split():
    text = 'Dr. Smith met the U.S. envoy at 5 p.m. on Monday. It cost $3.50 per unit. He said "it is over." Then he left.'
    assert sentences(text) == [
        "Dr. Smith met the U.S. envoy at 5 p.m. on Monday.",
        "It cost $3.50 per unit.",
        'He said "it is over."',
        "Then he left.",
    ]


def test_caption_followed_by_blank_lines_is_its_own_sentence():
    text = "Seized on June 12, 2015. Photo: VCG\n\n\n\n\nThe US should act.\n"
    assert sentences(text) == ["Seized on June 12, 2015.", "Photo: VCG", "The US should act."]


def test_date_header_is_split_from_the_first_sentence(seed_text):
    got = sentences(seed_text)
    assert got[0] == "date 2018-09-24"
    assert got[1].startswith("More than 46 kilograms")
    assert "Photo: VCG" in got


def test_crlf_line_ends_keep_exact_offsets():
    text = "First line here.\r\n\r\nSecond one.\r\nStill second.\r\n"
    spans = sentence_spans(text)
    assert [text[s.start : s.end] for s in spans] == ["First line here.", "Second one.", "Still second."]


def test_run_away_sentences_are_cut():
    text = "x = 1\n" * 400
    assert all(s.end - s.start <= MAX_SENTENCE_CHARS for s in sentence_spans(text))


alphabet = st.sampled_from(list("abc XYZ.!?\"'\n\r\t,;:0123456789-") + ["U.S.", "Dr. ", "p.m.", "\n\n", "date 2018-09-24 "])


@settings(max_examples=300, deadline=None)
@given(st.lists(alphabet, max_size=120).map("".join))
def test_spans_are_ordered_disjoint_exact_and_cover_every_visible_character(text):
    spans = sentence_spans(text)
    covered = set()
    previous_end = 0
    for i, s in enumerate(spans):
        assert s.index == i
        assert previous_end <= s.start < s.end <= len(text)
        piece = text[s.start : s.end]
        assert piece == piece.strip() and piece
        covered.update(range(s.start, s.end))
        previous_end = s.end
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
