"""Group robot posts for the leaders' group, through the adapter (GROUP targets)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from bot.errors import RateLimited
from bot.events import Platform
from bot.messages import Button, Card, File, Image, Markdown, Outbound, Target, Text
from bot.wecom import WeComAdapter
from bot.wecom import constants as c
from bot.wecom.errors import MessageTooLarge, WeComCredentialsError
from tests.emulators.wecom import WeComEmulator
from tests.messaging.fakes import send_all
from tests.wecom.conftest import ROBOT_KEY

LEADERS = Target.group(Platform.WECOM, "leaders")


def to_leaders(message: Text | Markdown | Card | Image | File) -> Outbound:
    return Outbound(target=LEADERS, message=message)


async def test_text_goes_to_the_groups_webhook(adapter: WeComAdapter, emulator: WeComEmulator):
    await adapter.send(to_leaders(Text(content="3 月考评排名已出")))

    [post] = emulator.robot_posts
    assert post.key == ROBOT_KEY
    assert post.body == {"msgtype": "text", "text": {"content": "3 月考评排名已出"}}
    assert emulator.gettoken_calls == 0  # robots need no access token


async def test_a_long_ranking_is_split_between_lines(adapter: WeComAdapter, emulator: WeComEmulator):
    ranking = "\n".join(f"第{i}名 **某某街道** {100 - i * 0.5:.1f} 分" for i in range(1, 200))
    assert len(ranking.encode()) > c.ROBOT_MARKDOWN_MAX_BYTES

    await send_all(adapter, to_leaders(Markdown(content=ranking)))

    parts = [p.body["markdown"]["content"] for p in emulator.robot_posts]
    assert len(parts) == 2
    assert all(len(p.encode()) <= c.ROBOT_MARKDOWN_MAX_BYTES for p in parts)
    assert "\n".join(parts) == ranking


async def test_a_card_reads_as_markdown_in_groups(adapter: WeComAdapter, emulator: WeComEmulator):
    card = Card(
        title="平安建设考评 3 月排名",
        fields=(("第一名", "城关镇"),),
        buttons=(Button(text="详情", key="detail"),),
    )

    await adapter.send(to_leaders(card))

    [post] = emulator.robot_posts
    assert post.body["msgtype"] == "markdown"
    assert post.body["markdown"]["content"] == "**平安建设考评 3 月排名**\n第一名：城关镇"


async def test_an_image_goes_as_base64_with_md5(adapter: WeComAdapter, emulator: WeComEmulator):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10

    await adapter.send(to_leaders(Image(filename="ranking.png", data=png)))

    [post] = emulator.robot_posts
    assert post.body["msgtype"] == "image"
    assert base64.b64decode(post.body["image"]["base64"]) == png
    assert post.body["image"]["md5"] == hashlib.md5(png).hexdigest()


async def test_an_image_over_2_mb_is_refused_in_chinese(adapter: WeComAdapter, emulator: WeComEmulator):
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (c.ROBOT_IMAGE_MAX_BYTES + 1)

    with pytest.raises(MessageTooLarge) as caught:
        await adapter.send(to_leaders(Image(filename="排名.png", data=big)))

    assert not caught.value.transient
    assert caught.value.user_message.startswith("图片“排名.png”大小 2.0 MB，超过群机器人 2.0 MB 的上限")
    assert emulator.robot_posts == []


async def test_an_image_that_is_not_png_or_jpg_is_refused(adapter: WeComAdapter, emulator: WeComEmulator):
    with pytest.raises(MessageTooLarge) as caught:
        await adapter.send(to_leaders(Image(filename="排名.gif", data=b"GIF89a" + b"\0" * 10)))

    assert "PNG 或 JPG" in caught.value.user_message
    assert emulator.robot_posts == []


async def test_a_file_is_uploaded_to_the_robot_then_sent(adapter: WeComAdapter, emulator: WeComEmulator):
    await adapter.send(to_leaders(File(filename="3月考评结果.xlsx", data=b"PK\x03\x04data")))

    [upload] = emulator.robot_uploads
    assert (upload.media_type, upload.filename) == ("file", "3月考评结果.xlsx")
    [post] = emulator.robot_posts
    assert post.body["msgtype"] == "file"
    assert post.body["file"]["media_id"].startswith("robot-media-")


async def test_a_workbook_over_1_mb_goes_out_whole(adapter: WeComAdapter, emulator: WeComEmulator):
    # Regression: raw bytes over 1 MB made aiohttp warn (an error under our test settings).
    data = b"PK\x03\x04" + bytes(range(256)) * 6000
    await adapter.send(to_leaders(File(filename="排名.xlsx", data=data)))

    [upload] = emulator.robot_uploads
    assert (len(upload.data), upload.data == data) == (1536004, True)


async def test_a_file_over_20_mb_is_refused(adapter: WeComAdapter, emulator: WeComEmulator):
    with pytest.raises(MessageTooLarge) as caught:
        await adapter.send(to_leaders(File(filename="材料.zip", data=b"x" * (c.ROBOT_FILE_MAX_BYTES + 1))))

    assert "超过群机器人 20.0 MB 的上限" in caught.value.user_message
    assert emulator.robot_uploads == []


async def test_an_empty_file_is_refused_before_upload(adapter: WeComAdapter, emulator: WeComEmulator):
    with pytest.raises(MessageTooLarge) as caught:
        await adapter.send(to_leaders(File(filename="空.xlsx", data=b"x")))

    assert caught.value.user_message == "文件“空.xlsx”内容为空，未发送"
    assert emulator.robot_uploads == []


async def test_a_group_without_a_robot_is_a_config_error(adapter: WeComAdapter):
    with pytest.raises(WeComCredentialsError) as caught:
        await adapter.send(Outbound(target=Target.group(Platform.WECOM, "nobody"), message=Text(content="x")))

    assert "SCOREBOT_WECOM_ROBOT_KEYS" in caught.value.user_message


async def test_robot_rate_limit_is_transient(adapter: WeComAdapter, emulator: WeComEmulator):
    emulator.fail_next("/cgi-bin/webhook/send", 45009)

    with pytest.raises(RateLimited) as caught:
        await adapter.send(to_leaders(Text(content="排名")))

    assert caught.value.retry_after == c.RETRY_AFTER_RATE_LIMIT
