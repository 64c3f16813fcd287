"""``responses`` registries that are strict: every response a test registers must be requested
(``assert_all_requests_are_fired``), so a test cannot pass while the request it scripts is
never sent; ``ordered_rsps`` also requires the order in which they were registered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from responses.registries import OrderedRegistry


def strict_mock(*, ordered: bool = False) -> responses.RequestsMock:
    """A registry in which every registered response must be requested (in order if
    ``ordered``) by the end of the block; any request not registered fails at once."""
    if ordered:
        return responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry)
    return responses.RequestsMock(assert_all_requests_are_fired=True)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """HTTP mocked for the test; what it registers must all be requested."""
    with strict_mock() as mock:
        yield mock


@pytest.fixture
def ordered_rsps() -> Iterator[responses.RequestsMock]:
    """HTTP mocked for the test; what it registers must all be requested, in that order."""
    with strict_mock(ordered=True) as mock:
        yield mock


def sent_url(call: responses.Call) -> str:
    """The URL of a request the registry received (a prepared request's URL is never None
    once sent, though requests' types allow it)."""
    url = call.request.url
    assert url is not None
    return url
