"""Exit codes and the error hierarchy.

Every expected failure is an ``AzJobsError`` carrying its exit code and an optional hint, so that
``fastpath.guarded()`` is the one place that turns failures into one stderr line and a process
status.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes scripts rely on (DESIGN.md, "Exit codes")."""

    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    AUTH = 4
    TIMEOUT = 5
    JOB_FAILED = 6
    JOB_CANCELLED = 7
    JOB_WARNINGS = 8
    INTERRUPTED = 130
    TERMINATED = 143


class AzJobsError(Exception):
    """Base of every failure the CLI reports without a traceback."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(AzJobsError):
    """Bad flags, values, environment or missing context: the user can fix the command line."""

    exit_code = ExitCode.USAGE


class SecurityError(UsageError):
    """A URL or endpoint refused by the security rules before anything was sent."""


class ApiError(AzJobsError):
    """An HTTP error or an unexpected response from the service.

    Keeps the HTTP status, the ARM error code and the client request id: Azure support asks for
    the latter, so it is part of the message.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after


class UnexpectedResponseError(ApiError):
    """The service answered with something that is not what the API promises."""


class NetworkError(ApiError):
    """The request never got an HTTP answer (DNS, refused, reset, timeout)."""


class RequestTimeout(NetworkError):
    """One request (or the share of a deadline a loop gave it) ran out of time: a loop may try
    again, as after a lost connection."""


class EndpointUnreachable(ApiError):
    """No connection could be made to an endpoint that has not answered in this run (refused,
    unknown host, connect timeout), or its TLS certificate failed verification. Not a passing
    fault: waiting for it would hide a wrong endpoint or an emulator that is not running."""


class ResponseTooLarge(UnexpectedResponseError):
    """A body larger than the most azjobs reads; it stays as large if asked again."""


class CommandTimeout(AzJobsError):
    """The command's own ``--timeout`` ran out (requests and retries included): an error for
    ``get`` and ``list`` (exit 1); ``watch`` turns it into its own timeout (exit 5)."""


class NotFoundError(ApiError):
    """404: job, vault, resource group or subscription."""

    exit_code = ExitCode.NOT_FOUND


class AuthError(ApiError):
    """No credential, or the service refused it (401/403)."""

    exit_code = ExitCode.AUTH
    claims: str | None = None  # a 401's claims challenge, for the token renewal


class WatchTimeout(AzJobsError):
    """``watch --timeout`` elapsed before the jobs ended."""

    exit_code = ExitCode.TIMEOUT


class OperationFailedError(ApiError):
    """An asynchronous operation (trigger, cancel) ended Failed or Canceled."""


class OutputError(AzJobsError):
    """stdout cannot take the output (a full disk, an I/O error): the data did not arrive."""


class StdoutClosed(BaseException):
    """The reader of stdout went away (``azjobs list | head -1``): stop quietly.

    A BaseException so that no ``except Exception`` (ours or Typer's) turns it into an error.
    """
