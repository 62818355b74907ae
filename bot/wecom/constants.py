"""WeCom platform facts: API paths, size and count limits, rate shapes.

Every number the WeCom package honours lives here, once, so a correction
from the official docs (``developer.work.weixin.qq.com/document/path/NNNNN``)
is a one-line change.  "UNCONFIRMED" marks what ``shared/platforms.md``
gives as the best known reading rather than a checked fact.
"""

from __future__ import annotations

from typing import Final

from bot.adapter import RateLimit

# --- API paths (relative to settings.wecom_api_base) -----------------------
PATH_GETTOKEN: Final = "/cgi-bin/gettoken"
PATH_MESSAGE_SEND: Final = "/cgi-bin/message/send"
PATH_UPDATE_TEMPLATE_CARD: Final = "/cgi-bin/message/update_template_card"
PATH_MEDIA_UPLOAD: Final = "/cgi-bin/media/upload"
PATH_ROBOT_SEND: Final = "/cgi-bin/webhook/send"
PATH_ROBOT_UPLOAD: Final = "/cgi-bin/webhook/upload_media"

# --- Callbacks (path/90238, path/90930) -------------------------------------
# Our own bound on |now - timestamp| for a signed callback: WeCom's three
# tries of one callback span well under a minute, so five minutes refuses
# replays without refusing a slow retry.  Not a WeCom number.
CALLBACK_MAX_SKEW_SECONDS: Final = 300
# An encrypted callback is a few KB at most; refuse big bodies before parsing.
CALLBACK_MAX_BODY_BYTES: Final = 64 * 1024

# --- Access token (path/91039) ----------------------------------------------
TOKEN_DEFAULT_TTL_SECONDS: Final = 7200
# Refresh this long before expiry so a token never dies in flight.
TOKEN_REFRESH_MARGIN_SECONDS: Final = 300

# --- App messages (path/90236) ----------------------------------------------
TEXT_MAX_BYTES: Final = 2048
MARKDOWN_MAX_BYTES: Final = 2048
# With enable_duplicate_check, WeCom drops a message identical to one sent
# inside this interval (at most 4 h): asked for on resends only, after a crash
# or an error that may have followed delivery.  UNCONFIRMED: that the check
# also compares with an earlier send made without it.
DUPLICATE_CHECK_INTERVAL_SECONDS: Final = 1800
# Media upload size bounds (path/90253).  UNCONFIRMED.
APP_IMAGE_MAX_BYTES: Final = 10 * 1024 * 1024
APP_FILE_MAX_BYTES: Final = 20 * 1024 * 1024
MEDIA_MIN_BYTES: Final = 5
APP_IMAGE_SUFFIXES: Final = frozenset({".png", ".jpg", ".jpeg"})

# --- Template cards (path/90236, path/90241); counts UNCONFIRMED in detail ---
CARD_TITLE_MAX_CHARS: Final = 26  # main_title.title, "建议不超过26个字"
CARD_DESC_MAX_CHARS: Final = 30  # main_title.desc
CARD_SUB_TITLE_MAX_CHARS: Final = 112  # sub_title_text
CARD_SOURCE_DESC_MAX_CHARS: Final = 13
CARD_HORIZONTAL_MAX_ROWS: Final = 6
CARD_KEYNAME_MAX_CHARS: Final = 5  # horizontal_content_list.keyname
CARD_VALUE_MAX_CHARS: Final = 26  # horizontal_content_list.value
CARD_MAX_BUTTONS: Final = 6
CARD_BUTTON_TEXT_MAX_CHARS: Final = 10  # UNCONFIRMED ("建议不超过10个字")
CARD_REPLACE_NAME_MAX_CHARS: Final = 20  # update_template_card button.replace_name, UNCONFIRMED
CARD_KEY_MAX_BYTES: Final = 1024
# task_id: unique per app, so every send (and every whole-card update, UNCONFIRMED
# whether an update may reuse the clicked card's) gets a fresh one.
CARD_TASK_ID_MAX_BYTES: Final = 128
CARD_TASK_ID_ALPHABET: Final = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-@")
CARD_VOTE_MAX_OPTIONS: Final = 20
# A pick-one list goes as a vote card: its one question, and the submit button's key
# (the adapter turns a submit into the chosen option's command).
CHOICE_QUESTION_KEY: Final = "choice"
CHOICE_SUBMIT_KEY: Final = "choice:submit"
CARD_SELECT_MAX: Final = 3
CARD_SELECT_MAX_OPTIONS: Final = 10

# --- Group robot (path/91770) -----------------------------------------------
ROBOT_TEXT_MAX_BYTES: Final = 2048
ROBOT_MARKDOWN_MAX_BYTES: Final = 4096
ROBOT_IMAGE_MAX_BYTES: Final = 2 * 1024 * 1024
ROBOT_FILE_MAX_BYTES: Final = 20 * 1024 * 1024
ROBOT_IMAGE_SUFFIXES: Final = frozenset({".png", ".jpg", ".jpeg"})

# --- Rate shapes for the outbox's rate limiter -------------------------------
# bot.adapter.RateLimit means: no window of ``period`` seconds holds more
# than ``per_period`` sends; so any window of W seconds holds at most
# per_period * ceil(W / period).  WeCom allows one app 30 messages a minute
# and 1000 an hour per member and silently drops the rest; one shape honours
# both: 30 per 112 s lets 30 through in a minute and 30 * 33 = 990 in an
# hour (a scorer's burst goes out at once, reminders pace at ~16/min).
MEMBER_LIMIT_PER_MINUTE: Final = 30
MEMBER_LIMIT_PER_HOUR: Final = 1000
ROBOT_LIMIT_PER_MINUTE: Final = 20
MEMBER_RATE: Final = RateLimit(per_period=30, period=112.0)
ROBOT_RATE: Final = RateLimit(per_period=ROBOT_LIMIT_PER_MINUTE, period=60.0)

# --- Back-off hints: WeCom sends no Retry-After, these are ours -------------
RETRY_AFTER_RATE_LIMIT: Final = 60.0  # 45009: per-minute API frequency
RETRY_AFTER_CONCURRENCY: Final = 2.0  # 45033: too many calls in flight
RETRY_AFTER_BUSY: Final = 5.0  # -1: system busy
RETRY_AFTER_NETWORK: Final = 5.0  # connection failure, 5xx, unreadable answer

# Total time for one API call; the outbox retries what times out.
API_TIMEOUT_SECONDS: Final = 10.0
