"""Group robot (群机器人) webhook sender for the leaders' groups.

Robots only send; a group's webhook key is a credential (anyone holding it
can post) and stays a ``SecretStr`` until the query string is built.
Long text and markdown are split between lines; an image or file over the
platform's size is refused before any call, with a message an admin can act on.
"""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import PurePath
from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.deps import SessionSource, session_getter
from bot.wecom import constants as c
from bot.wecom.errors import PLATFORM, MessageTooLarge
from bot.wecom.http import field, request
from bot.wecom.render import split_lines


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


class RobotSender:
    def __init__(self, session: SessionSource, api_base: str) -> None:
        self._session = session_getter(session)
        self._base = api_base.rstrip("/")

    async def _post(self, key: SecretStr, body: dict[str, Any]) -> dict[str, Any]:
        return await request(
            self._session(),
            "POST",
            self._base + c.PATH_ROBOT_SEND,
            action=f"webhook/send {body['msgtype']}",
            params={"key": key.get_secret_value()},
            json_body=body,
        )

    async def send_text(self, key: SecretStr, text: str) -> int:
        """Send ``text`` in as many messages as it takes; how many were sent."""
        parts = split_lines(text, c.ROBOT_TEXT_MAX_BYTES)
        for part in parts:
            await self._post(key, {"msgtype": "text", "text": {"content": part}})
        return len(parts)

    async def send_markdown(self, key: SecretStr, content: str) -> int:
        parts = split_lines(content, c.ROBOT_MARKDOWN_MAX_BYTES)
        for part in parts:
            await self._post(key, {"msgtype": "markdown", "markdown": {"content": part}})
        return len(parts)

    async def send_image(self, key: SecretStr, filename: str, data: bytes) -> None:
        suffix = PurePath(filename).suffix.lower()
        if suffix not in c.ROBOT_IMAGE_SUFFIXES:
            raise MessageTooLarge(
                f"群机器人只能发送 PNG 或 JPG 图片，“{filename}”不是",
                platform=PLATFORM,
                errmsg=f"image type {suffix or 'none'}",
            )
        if len(data) > c.ROBOT_IMAGE_MAX_BYTES:
            raise MessageTooLarge(
                f"图片“{filename}”大小 {_mb(len(data))}，超过群机器人 "
                f"{_mb(c.ROBOT_IMAGE_MAX_BYTES)} 的上限，未发送；请压缩后重试",
                platform=PLATFORM,
                errmsg=f"image {len(data)} bytes",
            )
        await self._post(
            key,
            {
                "msgtype": "image",
                "image": {
                    "base64": base64.b64encode(data).decode("ascii"),
                    "md5": hashlib.md5(data).hexdigest(),
                },
            },
        )

    async def send_file(self, key: SecretStr, filename: str, data: bytes) -> None:
        if len(data) < c.MEDIA_MIN_BYTES:
            raise MessageTooLarge(
                f"文件“{filename}”内容为空，未发送", platform=PLATFORM, errmsg=f"file {len(data)} bytes"
            )
        if len(data) > c.ROBOT_FILE_MAX_BYTES:
            raise MessageTooLarge(
                f"文件“{filename}”大小 {_mb(len(data))}，超过群机器人 {_mb(c.ROBOT_FILE_MAX_BYTES)} 的上限，未发送",
                platform=PLATFORM,
                errmsg=f"file {len(data)} bytes",
            )
        form = aiohttp.FormData(quote_fields=False)  # UTF-8 file names, not %-encoded
        form.add_field("media", io.BytesIO(data), filename=filename, content_type="application/octet-stream")
        answer = await request(
            self._session(),
            "POST",
            self._base + c.PATH_ROBOT_UPLOAD,
            action="webhook/upload_media",
            params={"key": key.get_secret_value(), "type": "file"},
            data=form,
        )
        await self._post(
            key,
            {
                "msgtype": "file",
                "file": {"media_id": field(answer, "media_id", action="webhook/upload_media")},
            },
        )
