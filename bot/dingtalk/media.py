"""Images and files on DingTalk: checked here, uploaded for a media id, sent as robot messages.

The app robot sends media by reference: the bytes go to the old API's
``media/upload`` first, and the one-to-one or group message carries the
media id (``sampleImageMsg``, ``sampleFile``).  Custom robot webhooks
take no uploaded media at all; the adapter routes around them.

``check`` refuses, before any call, what DingTalk would refuse after the
upload: too big, or a type it does not take.  Its message says so in words
an admin can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from bot.dingtalk import constants as c
from bot.dingtalk.errors import PLATFORM, MediaRefused
from bot.messages import File, Image


@dataclass(frozen=True, slots=True)
class MediaSpec:
    """What an upload needs: DingTalk's media type and the file's suffix (its ``fileType``)."""

    media_type: str
    suffix: str


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check(message: Image | File) -> MediaSpec:
    """The upload's spec; ``MediaRefused`` (permanent) for what DingTalk would not take."""
    is_image = isinstance(message, Image)
    kind_zh = "图片" if is_image else "文件"
    limit = c.IMAGE_MAX_BYTES if is_image else c.FILE_MAX_BYTES
    allowed = c.IMAGE_SUFFIXES if is_image else c.FILE_SUFFIXES
    suffix = PurePath(message.filename).suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise MediaRefused(
            f"钉钉只能发送 {'、'.join(sorted(allowed))} 格式的{kind_zh}，“{message.filename}”不是，未发送",
            platform=PLATFORM,
            errmsg=f"{message.kind} type {suffix or 'none'}",
        )
    if not message.data:
        raise MediaRefused(
            f"{kind_zh}“{message.filename}”内容为空，未发送",
            platform=PLATFORM,
            errmsg=f"{message.kind} 0 bytes",
        )
    if len(message.data) > limit:
        raise MediaRefused(
            f"{kind_zh}“{message.filename}”大小 {_mb(len(message.data))}，超过钉钉 {_mb(limit)} 的上限，未发送；"
            "请压缩或拆分后重试",
            platform=PLATFORM,
            errmsg=f"{message.kind} {len(message.data)} bytes",
        )
    return MediaSpec(media_type=c.MEDIA_TYPE_IMAGE if is_image else c.MEDIA_TYPE_FILE, suffix=suffix)


def app_media_message(message: Image | File, spec: MediaSpec, media_id: str) -> tuple[str, dict[str, Any]]:
    """The robot API's (msgKey, msgParam) for an uploaded image or file."""
    if isinstance(message, Image):
        return c.MSGKEY_IMAGE, {"photoURL": media_id}
    return c.MSGKEY_FILE, {"mediaId": media_id, "fileName": message.filename, "fileType": spec.suffix}
