"""The typed errors of the cassette layer: loading, matching and replaying."""

from __future__ import annotations

from harness.types import HarnessError

__all__ = [
    "CassetteError",
    "CassetteNotFoundError",
    "ReplayExhaustedError",
    "UnmatchedRequestError",
]


class CassetteError(HarnessError):
    """A cassette cannot be read, or a replay did not go as recorded."""


class ReplayExhaustedError(CassetteError):
    """More requests arrived than the cassette recorded."""


class UnmatchedRequestError(CassetteError):
    """A replayed request matches no recorded interaction that may still be played.

    The message names the cassette, the request and the closest recorded request with
    its first differing field; the same attributes are kept for callers.
    """

    def __init__(
        self,
        message: str,
        *,
        cassette_path: str = "",
        request: str = "",
        closest: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.cassette_path = cassette_path
        self.request = request
        self.closest = closest
        self.field = field


class CassetteNotFoundError(CassetteError):
    """The cassette does not exist (or is empty) and the record mode does not record."""

    def __init__(
        self, message: str, *, cassette_path: str = "", record_command: str | None = None
    ) -> None:
        super().__init__(message)
        self.cassette_path = cassette_path
        self.record_command = record_command
