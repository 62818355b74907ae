"""The callback route end to end over real HTTP: WeCom (emulated) → bot → sink."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.events import EventKind, Platform
from bot.wecom.constants import CHOICE_SUBMIT_KEY
from tests.emulators.wecom import CallbackSender
from tests.wecom.conftest import FakeClock, RecordingSink, payload

# WeCom gives up after 5 s; the route must answer well inside that.
FAST = 1.0


async def test_url_verification_answers_the_plaintext(wecom: CallbackSender, clock: FakeClock):
    result = await wecom.verify_url("1616140317555161061", timestamp=clock.timestamp)

    assert result.status == 200
    assert result.body == "1616140317555161061"


async def test_url_verification_with_a_forged_signature_is_refused(wecom: CallbackSender, clock: FakeClock):
    result = await wecom.verify_url("42", timestamp=clock.timestamp, token="not-the-token")

    assert result.status == 403
    assert result.body == ""


async def test_text_message_reaches_the_sink(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    [result] = await wecom.post(payload("text_message.xml"), timestamp=clock.timestamp)

    assert (result.status, result.body) == (200, "")
    [event] = sink.events
    assert event.platform is Platform.WECOM
    assert event.kind is EventKind.TEXT
    assert event.user_id == "ZhangWei"
    assert event.text == "评分 城关镇 3.5"
    assert event.message_id == "7611857304522349091"
    assert event.received_at == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert event.dedupe_key == "wecom:7611857304522349091"
    assert event.chat_id is None
    assert event.reply_token is None


async def test_string_msgid_is_kept_as_text(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    await wecom.post(payload("text_message_string_msgid.xml"), timestamp=clock.timestamp)

    [event] = sink.events
    assert event.message_id == "CAIQg/PKxgYYwqXk5LeAgAMg5e+RCg=="
    assert event.text == "进度"


async def test_card_click_becomes_a_card_action(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    [result] = await wecom.post(payload("card_click_button.xml"), timestamp=clock.timestamp)

    assert result.status == 200
    [event] = sink.events
    assert event.kind is EventKind.CARD_ACTION
    assert event.user_id == "ZhangWei"
    assert event.action_key == "score:U017:3.5"
    assert event.card_id == "walk-2026-ZhangWei-U017"
    assert event.reply_token == "rc_7mFqJ3oLxkTq2yV9c1Q8aGdW0eZbNsUh"
    assert event.selected == ()
    assert event.message_id == "ZhangWei:1772413260:score:U017:3.5:rc_7mFqJ3oLxkTq2yV9c1Q8aGdW0eZbNsUh"


async def test_the_same_button_clicked_twice_in_one_second_is_two_events(
    wecom: CallbackSender, clock: FakeClock, sink: RecordingSink
):
    # Regression: dedupe keyed on user + CreateTime + key dropped the second click.
    first = payload("card_click_button.xml")
    second = first.replace("rc_7mFqJ3oLxkTq2yV9c1Q8aGdW0eZbNsUh", "rc_second_click")
    await wecom.post(first, timestamp=clock.timestamp, times=2)  # a click and WeCom's retry of it
    await wecom.post(second, timestamp=clock.timestamp)

    assert len({e.dedupe_key for e in sink.events}) == 2


async def test_vote_click_with_one_selected_item(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    await wecom.post(payload("card_click_vote_one.xml"), timestamp=clock.timestamp)

    [event] = sink.events
    assert event.action_key == "vote-submit"
    assert event.selected == ("U003",)


async def test_our_pick_one_cards_submit_reads_as_the_chosen_options_command(
    wecom: CallbackSender, clock: FakeClock, sink: RecordingSink
):
    click = payload("card_click_vote_one.xml").replace("vote-submit", CHOICE_SUBMIT_KEY).replace("U003", "市委编办")
    await wecom.post(click, timestamp=clock.timestamp)

    [event] = sink.events
    assert (event.action_key, event.selected) == ("市委编办", ("市委编办",))


async def test_multiple_click_with_several_selected_items(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    await wecom.post(payload("card_click_multiple.xml"), timestamp=clock.timestamp)

    [event] = sink.events
    assert event.selected == ("U003", "U005", "G-good")
    assert event.reply_token == "rc_Multi2"


async def test_a_callback_retried_three_times_is_answered_fast_each_time(
    wecom: CallbackSender, clock: FakeClock, sink: RecordingSink
):
    results = await wecom.post(payload("card_click_button.xml"), timestamp=clock.timestamp, times=3)

    assert [r.status for r in results] == [200, 200, 200]
    assert all(r.seconds < FAST for r in results)
    # The sink sees every delivery with one dedupe key; taking effect once is its job.
    assert len(sink.events) == 3
    assert len({e.dedupe_key for e in sink.events}) == 1


async def test_forged_signature_is_refused(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    [result] = await wecom.post(payload("text_message.xml"), timestamp=clock.timestamp, token="a-forgers-token")

    assert result.status == 403
    assert sink.events == []


async def test_tampered_ciphertext_is_refused(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    [result] = await wecom.post(payload("text_message.xml"), timestamp=clock.timestamp, tamper=True)

    assert result.status == 403
    assert sink.events == []


async def test_stale_timestamp_is_refused(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    signed_at = clock.timestamp
    clock.advance(10 * 60)  # a replay ten minutes later

    [result] = await wecom.post(payload("text_message.xml"), timestamp=signed_at)

    assert result.status == 403
    assert sink.events == []


async def test_timestamp_from_the_future_is_refused(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    [result] = await wecom.post(payload("text_message.xml"), timestamp=str(int(clock.timestamp) + 3600))

    assert result.status == 403
    assert sink.events == []


async def test_wrong_method_is_refused(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    [result] = await wecom.post(payload("text_message.xml"), timestamp=clock.timestamp, method="PUT")

    assert result.status == 405
    assert sink.events == []


async def test_bad_envelope_xml_is_refused(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    params = {"msg_signature": "0" * 40, "timestamp": clock.timestamp, "nonce": "1"}

    result = await wecom.post_raw(params, "<xml><Encrypt>unterminated")

    assert result.status == 400
    assert sink.events == []


async def test_envelope_with_a_dtd_is_refused(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    params = {"msg_signature": "0" * 40, "timestamp": clock.timestamp, "nonce": "1"}
    body = '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'

    result = await wecom.post_raw(params, body)

    assert result.status == 400
    assert sink.events == []


async def test_missing_query_parameters_are_refused(wecom: CallbackSender, sink: RecordingSink):
    result = await wecom.post_raw({}, wecom.envelope("abc"))

    assert result.status == 400
    assert sink.events == []


async def test_well_signed_garbage_inside_is_refused(wecom: CallbackSender, clock: FakeClock, sink: RecordingSink):
    [result] = await wecom.post("this is not xml <", timestamp=clock.timestamp)

    assert result.status == 400
    assert sink.events == []


async def test_other_message_types_are_acknowledged_and_ignored(
    wecom: CallbackSender, clock: FakeClock, sink: RecordingSink
):
    results = [
        *await wecom.post(payload("image_message.xml"), timestamp=clock.timestamp),
        *await wecom.post(payload("enter_agent_event.xml"), timestamp=clock.timestamp),
    ]

    assert [(r.status, r.body) for r in results] == [(200, ""), (200, "")]
    assert sink.events == []
