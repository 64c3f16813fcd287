"""One resource provider's api-versions, and ARM's 400 for a request without one of them.

Recovery Services, DataProtection and Microsoft.Resources each accept their own list, but ARM
checks the parameter and words its refusal the same way for all of them; one class keeps that
wording in one place.
"""

from __future__ import annotations

from collections.abc import Iterable

from .replies import ServiceError


class ApiVersions:
    """The api-versions a provider accepts (compared without case or surrounding spaces)."""

    def __init__(self, versions: Iterable[str]) -> None:
        self.versions = tuple(versions)
        self._lower = frozenset(v.lower() for v in self.versions)

    def is_supported(self, api_version: str) -> bool:
        return api_version.strip().lower() in self._lower

    def supported_list(self) -> str:
        """The list as ARM quotes it in its 400 message: comma-separated, newest first."""
        return ",".join(sorted(self.versions, reverse=True))

    def require(self, api_version: str | None) -> str:
        """The request's api-version without surrounding spaces, or ARM's 400 for a missing or
        unknown one."""
        if api_version is None or not api_version.strip():
            raise ServiceError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if not self.is_supported(api_version):
            raise ServiceError(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{api_version}' is invalid. The supported versions are "
                f"'{self.supported_list()}'.",
            )
        return api_version.strip()


__all__ = ["ApiVersions"]
