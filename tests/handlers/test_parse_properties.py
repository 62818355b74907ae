"""Parsing never crashes: any text gives a command or a DomainError, quickly."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.parse import MAX_MESSAGE_CHARS, parse_command
from scoring_core.errors import DomainError

_PIECES = "评分 核对 提交 加分 扣分 否决 开启考核 解锁 明细 全部满分 满分 第 页 项 分 D9 B1 V2 市教育局 公安"
_NUMBERS = "12 3.5 ３．５ - . 。 12月20日 18:00 99999999999999999999 0.001 ﷽"
WORDS = st.sampled_from([*_PIECES.split(" "), *_NUMBERS.split(" "), "\n", " ", "\u3000", "\x00", "\u200b", "\r"])
TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.lists(WORDS, max_size=40).map("".join),
    st.lists(WORDS, max_size=40).map(" ".join),
)


def _parse(text: str) -> None:
    message = "parsed"
    try:
        parse_command(text)
    except DomainError as exc:
        message = exc.user_message
    assert message  # every refusal says something


@given(TEXT)
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_gives_a_command_or_a_domain_error(text: str) -> None:
    _parse(text)


@given(st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Nd", "No", "Po"]), max_size=200))
def test_control_characters_and_odd_digits(text: str) -> None:
    _parse(text)


@given(st.sampled_from(["\u3000", " ", "1", "3.5 ", "教育局 ", "\n", "﷽", "ﷺ", "。", "\x00"]), st.integers(1, 20_000))
@settings(max_examples=60)
def test_huge_inputs_are_refused_or_parsed_in_bounded_time(chunk: str, times: int) -> None:
    text = chunk * times
    started = time.perf_counter()
    _parse(text)
    # Generous bound: parsing is linear in the capped size, far under this.
    assert time.perf_counter() - started < 1.0


def test_a_message_at_the_cap_is_read() -> None:
    text = ("教育局 3.5 演练未按期\n" * 200)[:MAX_MESSAGE_CHARS]
    _parse(text)
