"""Continuation tokens of the jobs list.

The service's ``$skiptoken`` is a URL-encoded XML ContinuationToken with CR/LF, quotes and
``!`` in it; the emulator writes the same kind of token so that clients which re-encode a
nextLink (the Python SDK parses and re-quotes it) are tested against a value that needs care.
The token holds the sort key of the next job (keyset paging), so a job added between two pages
neither repeats nor shifts an item.
"""

from __future__ import annotations

import base64
import re

_ROW_KEY_RE = re.compile(r"<NextRowKey>1!\d+!(?P<key>[A-Za-z0-9+/_-]+)</NextRowKey>")


def encode_token(start_ticks: int, job_id: str) -> str:
    """A ContinuationToken pointing at the job with this start time (in ticks) and id."""
    raw = f"jobsstarttimeindex_0_{start_ticks}_0_{job_id}".encode("ascii")
    key = base64.b64encode(raw).decode("ascii").replace("=", "-")
    return (
        '<?xml version="1.0" encoding="utf-16"?>\r\n<ContinuationToken>\r\n'
        "  <ContinuationToken>\r\n    <Version>2.0</Version>\r\n    <Type>Table</Type>\r\n"
        f"    <NextPartitionKey>1!28!{base64.b64encode(b'jobs').decode('ascii')}--"
        "</NextPartitionKey>\r\n"
        f"    <NextRowKey>1!{len(key)}!{key}</NextRowKey>\r\n"
        "    <TargetLocation>Primary</TargetLocation>\r\n  </ContinuationToken>\r\n"
        "</ContinuationToken>"
    )


def decode_token(token: str) -> tuple[int, str]:
    """(start ticks, job id) of the next job; ValueError for anything that is not our token."""
    match = _ROW_KEY_RE.search(token)
    if not match:
        raise ValueError("not a continuation token")
    key = match["key"].replace("-", "=")
    try:
        raw = base64.b64decode(key, validate=True).decode("ascii")
    except ValueError:
        raise ValueError("not a continuation token") from None
    parts = raw.split("_")
    if len(parts) != 5 or parts[0] != "jobsstarttimeindex":
        raise ValueError("not a continuation token")
    try:
        return int(parts[2]), parts[4]
    except ValueError:
        raise ValueError("not a continuation token") from None


def next_link_query(api_version: str, filter_text: str | None, token: str) -> list[tuple[str, str]]:
    """The query of a nextLink: the request's api-version and ``$filter`` carry over, so that a
    client following the link as it is gets the same list."""
    params = [("api-version", api_version)]
    if filter_text:
        params.append(("$filter", filter_text))
    params.append(("$skiptoken", token))
    return params
