"""DingTalk platform facts: API paths, wire names, size limits, rate shapes.

Every number and wire name the DingTalk package honours lives here, once,
so a correction from the official docs (open.dingtalk.com) is a one-line
change.  "UNCONFIRMED" marks what ``shared/platforms.md`` gives as the best
known reading rather than a checked fact.  Hosts are settings
(``SCOREBOT_DINGTALK_API_BASE``, webhook URLs), never constants here:
government deployments (浙政钉 and other 专有钉钉) use their own.
"""

from __future__ import annotations

from typing import Final

from bot.adapter import RateLimit

# --- API paths (relative to settings.dingtalk_api_base) ---------------------
PATH_ACCESS_TOKEN: Final = "/v1.0/oauth2/accessToken"
PATH_BATCH_SEND: Final = "/v1.0/robot/oToMessages/batchSend"
PATH_GROUP_SEND: Final = "/v1.0/robot/groupMessages/send"
PATH_STREAM_OPEN: Final = "/v1.0/gateway/connections/open"
ACCESS_TOKEN_HEADER: Final = "x-acs-dingtalk-access-token"

# --- Old API paths (relative to settings.dingtalk_oapi_base) -----------------
# 上传媒体文件 (open.dingtalk.com/document/orgapp/upload-media-files): multipart
# field ``media``; the access token in the query.  The docs list ``type`` as a
# form field and say to append it to the URL when DingTalk answers 40004: we
# send it in both places.  The docs name the internal app's token from
# ``PATH_ACCESS_TOKEN`` as this call's token, so one token serves both hosts.
PATH_MEDIA_UPLOAD: Final = "/media/upload"
MEDIA_FIELD: Final = "media"

# --- Receiving: HTTP mode ------------------------------------------------------
# DingTalk refuses its own signed requests beyond an hour; we refuse a
# callback whose timestamp (ms) is further than this from our clock.
# UNCONFIRMED: platforms.md gives one hour as the window.
CALLBACK_MAX_SKEW_SECONDS: Final = 3600
# A robot message is a few KB; refuse big bodies before parsing.
CALLBACK_MAX_BODY_BYTES: Final = 64 * 1024
CONVERSATION_ONE_TO_ONE: Final = "1"
CONVERSATION_GROUP: Final = "2"
MSGTYPE_TEXT: Final = "text"
MSGTYPE_RICH_TEXT: Final = "richText"

# --- Receiving: Stream mode (the dingtalk-stream SDK) -------------------------
TOPIC_ROBOT_MESSAGE: Final = "/v1.0/im/bot/messages/get"
TOPIC_CARD_CALLBACK: Final = "/v1.0/card/instances/callback"
# How often shutdown re-cancels the SDK's loop: it catches a cancellation
# once and goes to sleep before reconnecting.
STREAM_STOP_POLL_SECONDS: Final = 0.05
STREAM_STOP_TIMEOUT_SECONDS: Final = 5.0
# DingTalk refusing the connection (401 authFailed for a wrong app key or
# secret): the next try waits this long, doubling each refusal up to the
# max.  The SDK itself tries every 10 s, so waits are in steps of 10 s.
STREAM_REFUSED_BACKOFF_SECONDS: Final = 10.0
STREAM_REFUSED_BACKOFF_MAX_SECONDS: Final = 600.0

# --- Access token --------------------------------------------------------------
TOKEN_DEFAULT_TTL_SECONDS: Final = 7200
# Refresh this long before expiry so a token never dies in flight.
TOKEN_REFRESH_MARGIN_SECONDS: Final = 300

# --- Robot messages (enterprise-internal app robot) ---------------------------
BATCH_SEND_MAX_USERS: Final = 20  # the docs contradict themselves; 20 is safe
MSGKEY_TEXT: Final = "sampleText"
MSGKEY_MARKDOWN: Final = "sampleMarkdown"
MSGKEY_ACTION_CARD: Final = "sampleActionCard"  # one button: singleTitle/singleURL
# sampleActionCardN (N = 2..5) carry N vertical buttons actionTitleK/actionURLK.
# UNCONFIRMED in detail: msgKey names and parameter spelling per platforms.md.
MSGKEY_ACTION_CARD_N: Final = "sampleActionCard{n}"
APP_CARD_MAX_BUTTONS: Final = 5
# Custom robot and session webhook actionCard: a btns list.  UNCONFIRMED count.
WEBHOOK_CARD_MAX_BUTTONS: Final = 5
# text/markdown size: the old docs cap content at 5000 characters (34016);
# 4096 bytes is under that for any text.  UNCONFIRMED for the new robot API.
TEXT_MAX_BYTES: Final = 4096
MARKDOWN_MAX_BYTES: Final = 4096
CARD_TITLE_MAX_CHARS: Final = 64
BUTTON_TITLE_MAX_CHARS: Final = 20

# A link that, tapped, sends its content back into the chat as the user:
# text-command buttons without a card template.  UNCONFIRMED on every
# client (desktop, mobile, government builds): the body lists the same
# commands as text, so a client that ignores the link still works.
SEND_MESSAGE_LINK: Final = "dtmd://dingtalkclient/sendMessage?content={content}"

# --- Images and files (uploaded, then sent by media id) -----------------------
# Limits and formats from the upload docs (help.dingtalk.io upload-media-files):
# image ≤ 20 MB (jpg, gif, png, bmp); file ≤ 20 MB (doc, docx, xls, xlsx, ppt,
# pptx, zip, pdf, rar).  UNCONFIRMED that the robot message templates accept
# every size the upload does: the work-notification file message documents a
# 10 MB cap.  Our chart PNG and xlsx are well under 1 MB.
MEDIA_TYPE_IMAGE: Final = "image"
MEDIA_TYPE_FILE: Final = "file"
IMAGE_MAX_BYTES: Final = 20 * 1024 * 1024
FILE_MAX_BYTES: Final = 20 * 1024 * 1024
IMAGE_SUFFIXES: Final = frozenset({"jpg", "jpeg", "gif", "png", "bmp"})  # jpeg: UNCONFIRMED, docs say jpg
FILE_SUFFIXES: Final = frozenset({"doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "pdf", "rar"})
# Robot message templates for media (help.dingtalk.io robot-message-type):
# sampleImageMsg {"photoURL": a URL or an uploaded media id};
# sampleFile {"mediaId", "fileName", "fileType"}: UNCONFIRMED parameter spelling.
MSGKEY_IMAGE: Final = "sampleImageMsg"
MSGKEY_FILE: Final = "sampleFile"
# An upload of 20 MB takes longer than a JSON call.
UPLOAD_TIMEOUT_SECONDS: Final = 60.0

# --- Rate shapes for the outbox's rate limiter --------------------------------
# bot.adapter.RateLimit: no window of ``period`` seconds holds more than
# ``per_period`` sends for one key.
# Custom group robots: 20 messages a minute each, then throttled for 10 min.
WEBHOOK_LIMIT_PER_MINUTE: Final = 20
WEBHOOK_RATE: Final = RateLimit(per_period=WEBHOOK_LIMIT_PER_MINUTE, period=60.0)
# App robot in a group conversation: the same shape as a custom robot. UNCONFIRMED.
GROUP_RATE: Final = RateLimit(per_period=20, period=60.0)
# One-to-one robot messages per member.  UNCONFIRMED: DingTalk documents
# app-wide QPS, not a per-member cap; this keeps a scorer's burst intact
# while pacing mass reminders.
MEMBER_RATE: Final = RateLimit(per_period=30, period=60.0)

# --- Back-off hints: DingTalk sends no Retry-After, these are ours ------------
RETRY_AFTER_RATE_LIMIT: Final = 60.0  # API QPS / flow control
RETRY_AFTER_WEBHOOK_THROTTLED: Final = 600.0  # a custom robot over 20/min is muted 10 min
RETRY_AFTER_BUSY: Final = 5.0  # system busy
RETRY_AFTER_NETWORK: Final = 5.0  # connection failure, 5xx, unreadable answer

# Total time for one API call; the outbox retries what times out.
API_TIMEOUT_SECONDS: Final = 10.0
