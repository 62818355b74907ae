"""Platform branch of the error tree: what a messenger's API said."""

from __future__ import annotations

from scoring_core.errors import ScorebotError


class PlatformError(ScorebotError):
    """A messenger API call failed.

    ``transient`` tells the outbox whether a retry may help; ``retry_after``
    (seconds) is the platform's or our back-off hint.  ``errcode``/``errmsg``
    are the platform's own words, kept for the log and for admins.
    """

    def __init__(
        self,
        user_message: str,
        *,
        platform: str,
        errcode: int | str | None = None,
        errmsg: str = "",
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(user_message)
        self.platform = platform
        self.errcode = errcode
        self.errmsg = errmsg
        self.transient = transient
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.platform} errcode={self.errcode} errmsg={self.errmsg}: {self.user_message}"


class SignatureError(PlatformError):
    """An inbound callback's signature, timestamp or body did not check out."""


class TokenError(PlatformError):
    """The access token was refused (invalid or expired): refresh and retry once."""


class RateLimited(PlatformError):
    """The platform asked us to slow down."""
