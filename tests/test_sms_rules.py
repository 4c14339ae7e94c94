"""The sending rules (send time, quiet hours, next allowed moment) and the segment count, as pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedback_app.sms.rules import (
    QuietHours,
    effective_rules,
    in_quiet_hours,
    link_expired_before_sending,
    next_allowed,
    parse_quiet_hours,
    parse_send_at,
    planned_send,
)
from feedback_app.sms.segments import count_segments, is_gsm7, strip_diacritics
from feedback_app.timeutil import LOCAL_TZ

NIGHT = QuietHours(time(21), time(7))
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31),
                       timezones=st.just(UTC))
clocks = st.times().map(lambda t: t.replace(second=0, microsecond=0))
quiet_hours = st.one_of(st.none(), st.tuples(clocks, clocks).filter(lambda p: p[0] != p[1])
                        .map(lambda p: QuietHours(*p)))
send_times = st.one_of(st.just("now"), clocks.map(lambda t: f"{t:%H:%M}"))


def local(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=LOCAL_TZ)


# --- parsing -------------------------------------------------------------------------------------------------

def test_parse_send_at_and_quiet_hours():
    assert parse_send_at("19:00") == "19:00" and parse_send_at(" 7:05 ") == "07:05"
    assert parse_send_at("now") == "now" and parse_send_at("NOW") == "now"
    assert parse_send_at("25:00") is None and parse_send_at("") is None and parse_send_at("7h") is None
    assert parse_quiet_hours("21:00-07:00") == NIGHT
    assert parse_quiet_hours(" 22:30 - 6:00 ") == QuietHours(time(22, 30), time(6))
    assert parse_quiet_hours("") is None and parse_quiet_hours(None) is None
    for bad in ("21:00", "21-07", "21:00-21:00", "24:00-07:00", "abc"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)


def test_quiet_hours_across_midnight_and_within_a_day():
    assert in_quiet_hours(local(2026, 5, 4, 21), NIGHT) and in_quiet_hours(local(2026, 5, 4, 23, 59), NIGHT)
    assert in_quiet_hours(local(2026, 5, 5, 0), NIGHT) and in_quiet_hours(local(2026, 5, 5, 6, 59), NIGHT)
    assert not in_quiet_hours(local(2026, 5, 5, 7), NIGHT) and not in_quiet_hours(local(2026, 5, 4, 20, 59), NIGHT)
    noon = QuietHours(time(11, 30), time(13, 30))
    assert in_quiet_hours(local(2026, 5, 4, 12), noon) and not in_quiet_hours(local(2026, 5, 4, 13, 30), noon)
    assert not in_quiet_hours(local(2026, 5, 4, 3), None)
    assert next_allowed(local(2026, 5, 4, 23), NIGHT) == local(2026, 5, 5, 7)
    assert next_allowed(local(2026, 5, 5, 2), NIGHT) == local(2026, 5, 5, 7)
    assert next_allowed(local(2026, 5, 5, 10), NIGHT) == local(2026, 5, 5, 10)


def test_planned_send_examples():
    returned = date(2026, 5, 4)
    # Returned and imported the same morning: the evening send time of that day.
    assert planned_send(returned, "19:00", NIGHT, local(2026, 5, 4, 9)) == local(2026, 5, 4, 19)
    # Returned yesterday, imported at 10:00: the send time has passed, so at once (outside the quiet hours).
    assert planned_send(returned, "19:00", NIGHT, local(2026, 5, 5, 10)) == local(2026, 5, 5, 10)
    # Imported at 23:00 after the send time: the end of the quiet hours.
    assert planned_send(returned, "19:00", NIGHT, local(2026, 5, 4, 23)) == local(2026, 5, 5, 7)
    # A send time inside the quiet hours moves to their end.
    assert planned_send(returned, "22:00", NIGHT, local(2026, 5, 4, 9)) == local(2026, 5, 5, 7)
    # "now", with and without quiet hours.
    assert planned_send(returned, "now", NIGHT, local(2026, 5, 4, 15)) == local(2026, 5, 4, 15)
    assert planned_send(returned, "now", NIGHT, local(2026, 5, 4, 22)) == local(2026, 5, 5, 7)
    assert planned_send(returned, "now", None, local(2026, 5, 4, 22)) == local(2026, 5, 4, 22)
    assert planned_send(returned, "19:00", None, local(2026, 5, 4, 22)) == local(2026, 5, 4, 22)


@settings(max_examples=400, deadline=None)
@given(now=moments, returned_offset=st.integers(min_value=-10, max_value=3), send_at=send_times, quiet=quiet_hours)
def test_planned_send_never_before_now_never_in_quiet_hours(now, returned_offset, send_at, quiet):
    returned = now.astimezone(LOCAL_TZ).date() + timedelta(days=returned_offset)
    when = planned_send(returned, send_at, quiet, now)
    assert when >= now
    assert not in_quiet_hours(when, quiet)
    assert when.tzinfo is not None and when.utcoffset() == timedelta(0)
    # No later than needed: the send day, plus under a day of quiet hours.
    assert when - now <= timedelta(days=max(returned_offset, 0) + 2)
    if quiet is None and send_at == "now":
        assert when == now
    if send_at != "now" and returned_offset <= -1 and not in_quiet_hours(now, quiet):
        assert when == now  # imported after the send time passed: at once


@settings(max_examples=400, deadline=None)
@given(moment=moments, quiet=quiet_hours)
def test_next_allowed_is_the_first_allowed_minute(moment, quiet):
    moment = moment.replace(second=0, microsecond=0)
    when = next_allowed(moment, quiet)
    assert when >= moment and not in_quiet_hours(when, quiet)
    if when > moment:  # every minute in between was quiet
        assert in_quiet_hours(when - timedelta(minutes=1), quiet)
        assert in_quiet_hours(moment, quiet)


def test_link_expired_before_sending():
    assert not link_expired_before_sending(date(2026, 5, 1), 7, date(2026, 5, 8))
    assert link_expired_before_sending(date(2026, 5, 1), 7, date(2026, 5, 9))


class _Settings:
    send_at = "now"
    quiet_hours = ""
    min_days_between = 0
    link_valid_days = 3
    ascii_only = True
    sender_name = "SXDKH"
    invitation_template = None
    price_per_segment = 600
    paused = True


def test_effective_rules_fall_back_to_configuration():
    config = {"INVITATION_SEND_AT": "19:00", "SMS_QUIET_HOURS": "21:00-07:00", "INVITATION_MIN_DAYS_PER_PHONE": 30,
              "INVITATION_LINK_DAYS": 7, "SMS_ASCII_ONLY": False, "SMS_SENDER_NAME": "UBND",
              "SMS_PRICE_PER_SEGMENT": 850}
    base = effective_rules(None, config)
    assert (base.send_at, base.quiet, base.min_days, base.link_days, base.ascii_only, base.sender_name) == (
        "19:00", NIGHT, 30, 7, False, "UBND")
    own = effective_rules(_Settings(), config)
    # An agency's empty quiet hours ("") mean none, not the installation's.
    assert (own.send_at, own.quiet, own.min_days, own.link_days, own.ascii_only, own.sender_name, own.paused) == (
        "now", None, 0, 3, True, "SXDKH", True)
    assert int(own.price_per_segment) == 600
    broken = effective_rules(None, {**config, "SMS_QUIET_HOURS": "nonsense", "INVITATION_SEND_AT": "x"})
    assert broken.quiet == NIGHT and broken.send_at == "19:00"


# --- segments -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "encoding", "units", "segments"), [
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),  # extension characters count twice
    ("a" + "€" * 80, "GSM-7", 161, 2),
    ("a" * 152 + "{", "GSM-7", 154, 1),
    ("a" * 159 + "[", "GSM-7", 161, 2),
    ("à" * 160, "GSM-7", 160, 1),  # à is in the GSM alphabet
    ("ả" * 70, "UCS-2", 70, 1),
    ("ả" * 71, "UCS-2", 71, 2),
    ("ả" * 134, "UCS-2", 134, 2),
    ("ả" * 135, "UCS-2", 135, 3),
    ("Đánh giá", "UCS-2", 8, 1),
    ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two units each
])
def test_segment_counts(text, encoding, units, segments):
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)


def test_escape_pairs_are_not_split_across_segments():
    # 152 plain + one two-septet character: 154 septets, two segments; the pair moves whole to the second.
    text = "a" * 152 + "€" + "a" * 10
    assert count_segments(text).segments == 2
    assert count_segments("a" * 152 + "€" * 77).segments == 3  # 152 + 154 septets, pairs never split


def test_vietnamese_diacritics_make_ucs2_and_stripping_makes_gsm7():
    text = "Sở Tư pháp tỉnh Khánh Hòa: Đánh giá sự hài lòng về hồ sơ đã trả kết quả"
    assert not is_gsm7(text) and count_segments(text).encoding == "UCS-2"
    plain = strip_diacritics(text)
    assert plain == "So Tu phap tinh Khanh Hoa: Danh gia su hai long ve ho so da tra ket qua"
    assert is_gsm7(plain) and count_segments(plain).segments == 1
    assert strip_diacritics("đường Đồng Khởi — “ưu tiên”") == 'duong Dong Khoi - "uu tien"'


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_stripped_text_is_always_gsm7(text):
    plain = strip_diacritics(text)
    assert is_gsm7(plain)
    assert strip_diacritics(plain) == plain


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aàáảãạăằắẳẵặâầấẩẫậđĐeêếểơưứ €{}[]"), max_size=500))
def test_segment_count_bounds(text):
    count = count_segments(text)
    if count.segments > 1:
        # Never fewer segments than the plain division, and at most one more per split pair.
        assert count.segments >= -(-count.units // count.per_segment)
        assert count.segments <= -(-count.units // (count.per_segment - 1))
