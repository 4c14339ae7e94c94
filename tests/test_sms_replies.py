"""The SMS reply parser and keywords, property-tested: every spelling of a keyword, every way to write digits."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feedback_app.sms import keywords
from feedback_app.sms.keywords import complaint_text, fold, is_help, is_opt_in, is_opt_out, strip_diacritics
from feedback_app.sms.replies import SKIPPED, Reply, digits_of, parse_reply

settings.register_profile("sms", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("sms")

FULL_WIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}
SEPARATORS = [" ", ",", ", ", ";", ".", "-", "/", "  ", "\t", "\n", "、", "，", "。", "\u3000", "\u00a0", " - ", ""]

# Keywords as a citizen may type them: with and without diacritics (both tone placements of "huỷ").
OPT_OUT_SPELLINGS = ["STOP", "HUY", "HỦY", "HUỶ", "TU CHOI", "TỪ CHỐI", "TUCHOI", "HUY DANG KY", "HỦY ĐĂNG KÝ",
                     "NGỪNG"]
OPT_IN_SPELLINGS = ["START", "DANG KY", "ĐĂNG KÝ", "ĐĂNGKÝ", "BAT LAI", "BẬT LẠI", "NHẬN LẠI"]
COMPLAINT_SPELLINGS = [("PA", "phan_anh"), ("PAKN", "phan_anh"), ("KN", "kien_nghi"), ("GOP Y", "gop_y"),
                       ("GÓP Ý", "gop_y"), ("GÓPÝ", "gop_y"), ("PHẢN ÁNH", "phan_anh"), ("KIẾN NGHỊ", "kien_nghi")]


def _casing(word: str, flips: list[bool]) -> str:
    return "".join(c.lower() if flip else c.upper() for c, flip in zip(word, flips + [False] * len(word),
                                                                        strict=False))


@st.composite
def spelled(draw: st.DrawFn, words: list[str]) -> tuple[str, str]:
    """A keyword in any casing, with spaces doubled, around it, and in decomposed (NFD) or composed form."""
    word = draw(st.sampled_from(words))
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    text = _casing(word, flips)
    text = text.replace(" ", draw(st.sampled_from([" ", "  ", "\t", " \u00a0"])))
    text = unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), text)
    before = draw(st.sampled_from(["", " ", "  ", "\n"]))
    after = draw(st.sampled_from(["", " ", ".", "!", " .", "\n"]))
    return word, before + text + after


@given(spelled(OPT_OUT_SPELLINGS))
@example(("STOP", "stop"))
@example(("HỦY", "hủy"))
@example(("TỪ CHỐI", "  Từ   Chối  "))
def test_any_spelling_of_an_opt_out_keyword_is_recognised(case: tuple[str, str]) -> None:
    _word, text = case
    assert is_opt_out(text)
    assert not is_opt_in(text)
    assert complaint_text(text) is None


@given(spelled(OPT_IN_SPELLINGS))
@example(("ĐĂNG KÝ", "đăng ký"))
def test_any_spelling_of_an_opt_in_keyword_is_recognised(case: tuple[str, str]) -> None:
    _word, text = case
    assert is_opt_in(text)
    assert not is_opt_out(text)


@st.composite
def keyword_only(draw: st.DrawFn, words: list[str]) -> tuple[str, str]:
    """A complaint keyword in any casing, spacing and Unicode form, nothing around it."""
    word = draw(st.sampled_from(words))
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    text = _casing(word, flips).replace(" ", draw(st.sampled_from([" ", "  ", "\t"])))
    return word, unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), text)


@given(keyword_only([word for word, _kind in COMPLAINT_SPELLINGS]),
       st.sampled_from([" ", ": ", ":", " - ", "-", "  ", ". ", " : "]),
       st.sampled_from(["Đường", "Bàn", "Cần", "em", "Thủ", "xin", "Mọi", "3", "Ông"]),
       st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "Zs", "P"]), max_size=80))
def test_a_complaint_keyword_then_text_keeps_the_citizens_words(case: tuple[str, str], separator: str,
                                                                 first: str, rest: str) -> None:
    word, keyword_text = case
    content = first + rest
    found = complaint_text(keyword_text + separator + content)
    assert found is not None
    assert found.kind == dict(COMPLAINT_SPELLINGS)[word]
    assert found.content == unicodedata.normalize("NFC", content).strip()


def test_complaint_examples() -> None:
    assert complaint_text("PAKN: Đường vào Trung tâm ngập nước") == keywords.ComplaintText(
        "PAKN", "phan_anh", "Đường vào Trung tâm ngập nước")
    assert complaint_text("góp ý nhân viên rất nhiệt tình").content == "nhân viên rất nhiệt tình"
    assert complaint_text("Góp Ý:Cần thêm ghế").kind == "gop_y"
    assert complaint_text("kn - Đề nghị mở thêm quầy").kind == "kien_nghi"
    assert complaint_text("PA Không có chỗ để xe").content == "Không có chỗ để xe"
    assert complaint_text("pa kn thủ tục rườm rà").keyword == "PAKN"
    for not_one in ("PAKN", "PAKN:", "PA ", "PAKNabc", "Pa", "Paris is nice", "4 5 3 4 5", "", "STOP"):
        assert complaint_text(not_one) is None, not_one


def test_keywords_do_not_swallow_other_messages() -> None:
    for text in ("Hủy hồ sơ của tôi giúp", "stop it now", "đăng ký hồ sơ mới", "5", "Cảm ơn", "Đúng", "Dừng"):
        assert not is_opt_out(text), text
        assert not is_opt_in(text), text
    assert is_help("?") and is_help("HELP") and is_help("Hướng dẫn") and is_help(" hd ")
    assert not is_help("xin chào")


@given(st.lists(st.integers(1, 5), min_size=1, max_size=9), st.sampled_from(SEPARATORS), st.booleans(),
       st.sampled_from(["", " ", "  ", "\n"]), st.sampled_from(["", " ", ".", " \n"]))
def test_digits_round_trip_whatever_the_separators(values: list[int], separator: str, full_width: bool,
                                                   before: str, after: str) -> None:
    digits = [FULL_WIDTH[str(v)] if full_width else str(v) for v in values]
    text = before + separator.join(digits) + after
    assert digits_of(text) == tuple(values)
    reply = parse_reply(text, factor_count=len(values))
    if len(values) == 1:
        assert reply == Reply(overall=values[0])
    else:
        assert reply == Reply(factors=tuple(values))


@given(st.lists(st.integers(1, 5), min_size=2, max_size=9), st.integers(2, 9))
def test_a_wrong_number_of_digits_is_no_reply(values: list[int], factors: int) -> None:
    text = " ".join(map(str, values))
    reply = parse_reply(text, factor_count=factors)
    assert (reply is not None) == (len(values) == factors)


@given(st.text(max_size=300))
@example("\x00")
@example("\ud800")
@example("４５３４５")
@example("٤")  # an Arabic-Indic digit: not one of ours
def test_random_text_never_raises(text: str) -> None:
    for factors in (0, 1, 5):
        reply = parse_reply(text, factor_count=factors)
        assert reply is None or isinstance(reply, Reply)
    is_opt_out(text), is_opt_in(text), is_help(text), complaint_text(text), fold(text), strip_diacritics(text)


@given(st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=20), st.integers(1, 5))
def test_a_letter_makes_it_no_reply(word: str, value: int) -> None:
    assert parse_reply(f"{value} {word}", factor_count=5) is None


def test_reply_examples() -> None:
    assert parse_reply("4", 5) == Reply(overall=4)
    assert parse_reply(" 4 5 3 4 5 ", 5) == Reply(factors=(4, 5, 3, 4, 5))
    assert parse_reply("45345", 5) == parse_reply("4,5,3,4,5", 5) == parse_reply("４５３４５", 5)
    assert parse_reply("4 5 3", 5) is None
    assert parse_reply("6", 5) is None and parse_reply("0", 5) is None
    assert parse_reply("4 5 3 4 6", 5) is None
    assert parse_reply("3", 1, scale={1, 2, 3}) == Reply(overall=3)
    assert parse_reply("4", 1, scale={1, 2, 3}) is None
    assert parse_reply("12", 1) is None  # one factor: only one digit
    # 0 only where the factor may not apply (asked after a screening question).
    assert parse_reply("4 5 3 4 0", 5, skippable={4}) == Reply(factors=(4, 5, 3, 4, SKIPPED))
    assert parse_reply("0 5 3 4 5", 5, skippable={4}) is None
    assert parse_reply("4 5 3 4 5 hài lòng", 5) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("Sở Xây dựng: Đánh giá", "So Xay dung: Danh gia"),
    ("ĐĂNG KÝ", "DANG KY"),
    ("Hủy", "Huy"),
])
def test_strip_diacritics(text: str, expected: str) -> None:
    assert strip_diacritics(text) == expected
