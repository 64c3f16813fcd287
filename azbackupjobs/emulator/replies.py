"""HTTP replies as values, so routes stay free of socket code and easy to test."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .wire import arm_error, compact_json

JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = None


class ServiceError(Exception):
    """An error the service answers with an ARM error body.

    ``error`` replaces the default ``{"code", "message"}`` object when a service spells its
    errors otherwise (the DataProtection RP adds ``target``, ``details`` and
    ``additionalInfo``); ``body`` replaces the whole body (the non-ARM shapes some endpoints use).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: list[tuple[str, str]] | None = None,
        *,
        error: dict[str, Any] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []
        self.error = error
        self.body = body

    def reply(self) -> Reply:
        if self.body is not None:
            return json_reply(self.status, self.body, self.headers)
        if self.error is not None:
            return json_reply(self.status, {"error": self.error}, self.headers)
        return json_reply(self.status, arm_error(self.code, self.message), self.headers)


def json_reply(status: int, value: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status, compact_json(value), list(headers or []), JSON_TYPE)


def empty_reply(status: int, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status, b"", list(headers or []), None)
