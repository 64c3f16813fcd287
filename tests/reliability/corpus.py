"""A corpus of malformed and hostile service answers, for the bad-server-data suite.

Each case is what the service (or a proxy in front of it) might send for one request: a status,
headers and raw body bytes, and what kind of thing it is:

- ``job``: a job resource that is odd but readable (wrong types, hostile strings, sizes); every
  command must render it, and the JSON outputs must reproduce it exactly.
- ``not_job``: a JSON object that is not a job resource (no ``properties`` object).
- ``unreadable``: a 2xx answer that is not a JSON object at all (HTML, empty, cut short, a list,
  a string, nesting too deep to read).
- ``http``: an error status with an odd body.

``PAGE_CASES`` are job-list pages that break the list's own rules (``value``, ``nextLink``).
Hostile strings carry the marker ``EVIL`` so tests can check that the text arrives while the
control sequences around it do not.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from tests.reliability.reliability_harness import BASE, JOB, LIST_URL

ANSI = "\x1b[31;1;4mEVIL\x1b[0m\x1b]0;EVIL-TITLE\x07\x1b[2J\x1b[H"
C1 = "\x9b31mEVIL\x9b0m\x90EVIL\x9c\x85"
CONTROLS = "EVIL\x00\x07\x08\r\n\t\x7f\x1b"
BIDI = "\u202eEVIL\u202c exe.\u2066txt\u2069\u200f"


def job_body(status: Any = "InProgress", **props: Any) -> dict[str, Any]:
    """A VM backup job as GET returns it, with tasks and a propertyBag."""
    body: dict[str, Any] = {
        "id": f"{BASE}/backupJobs/{JOB}",
        "name": JOB,
        "type": "Microsoft.RecoveryServices/vaults/backupJobs",
        "properties": {
            "jobType": "AzureIaaSVMJob",
            "actionsInfo": ["Cancellable"],
            "duration": "PT7M15.6038625S",
            "extendedInfo": {
                "tasksList": [
                    {"taskId": "Take Snapshot", "duration": "PT7M14S", "status": "Completed"},
                    {
                        "taskId": "Transfer data to vault",
                        "duration": "PT0S",
                        "status": "InProgress",
                        "taskExecutionDetails": "10 GBs / 127 GBs",
                    },
                ],
                "propertyBag": {"VM Name": "vm1", "Backup Size": "10 GB"},
            },
            "entityFriendlyName": "vm1",
            "backupManagementType": "AzureIaasVM",
            "operation": "Backup",
            "status": status,
            "startTime": "2023-12-21T05:52:05.9961118Z",
            "activityId": "10b83913-9fc5-11ee-a020-644ed7a2823f",
        },
    }
    body["properties"].update(props)
    return body


def with_ext(status: str = "InProgress", **ext: Any) -> dict[str, Any]:
    body = job_body(status)
    body["properties"]["extendedInfo"].update(ext)
    return body


def nested(depth: int, leaf: Any = "EVIL") -> Any:
    value: Any = leaf
    for level in range(depth):
        value = {"level": value} if level % 2 else [value]
    return value


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # job, not_job, unreadable, http
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})

    @property
    def parsed(self) -> Any:
        """The body as azjobs reads it (invalid UTF-8 replaced)."""
        return json.loads(self.body.decode("utf-8", "replace"))

    @property
    def status_text(self) -> str | None:
        """The job's status as sent, for a readable job."""
        props = self.parsed.get("properties") if self.kind == "job" else None
        value = props.get("status") if isinstance(props, dict) else None
        return value if isinstance(value, str) else None


def _json(name: str, data: Any, kind: str = "job", status: int = 200, **headers: str) -> Case:
    text = json.dumps(data, ensure_ascii=False)
    return Case(
        name, kind, text.encode("utf-8"), status, {"Content-Type": "application/json", **headers}
    )


def _raw(
    name: str,
    kind: str,
    body: bytes | str,
    status: int = 200,
    content_type: str = "text/html",
    **headers: str,
) -> Case:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return Case(name, kind, data, status, {"Content-Type": content_type, **headers})


def _swap(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


HTML_500 = """<!DOCTYPE html><html><head><title>500 - Internal server error.</title>
<style>body{font-family:Arial}</style><script>var x = "\x1b[2J";</script></head>
<body><h1>Server Error</h1><h2>500 - Internal server error.</h2>
<p>There is a problem with the resource you are looking for.</p></body></html>"""
HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 "
    "Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
GOOD = json.dumps(job_body())
TEN_THOUSAND_TASKS = [
    {
        "taskId": f"Task {n}",
        "status": "Completed" if n < 5000 else "NotStarted",
        "duration": "PT1S",
        "progressPercentage": 100 if n < 5000 else 0,
    }
    for n in range(10_000)
]
TEN_THOUSAND_TASKS[5000]["status"] = "InProgress"

JOB_CASES: tuple[Case, ...] = (
    # --- not JSON, or not an object ------------------------------------------------------------
    _raw("html-error-page-500", "http", HTML_500, 500),
    _raw("html-gateway-page-502", "http", HTML_502, 502),
    _raw("html-page-with-200", "unreadable", HTML_500, 200),
    _raw("empty-body-503", "http", b"", 503),
    _raw("empty-body-200", "unreadable", b"", 200, "application/json"),
    _raw("whitespace-body-200", "unreadable", b"  \r\n\t ", 200, "application/json"),
    _raw("truncated-json", "unreadable", GOOD[: len(GOOD) // 2], 200, "application/json"),
    _raw("truncated-json-one-byte", "unreadable", GOOD[:-1], 200, "application/json"),
    _raw("json-with-bom", "unreadable", "\ufeff" + GOOD, 200, "application/json"),
    _raw("invalid-utf8-outside-strings", "unreadable", b"\xff\xfe{\x00", 200, "application/json"),
    _raw("binary-garbage", "unreadable", bytes(range(256)), 200, "application/octet-stream"),
    _raw(
        "integer-over-4300-digits",
        "unreadable",
        '{"name": "x", "properties": {"status": ' + "9" * 5000 + "}}",
        200,
        "application/json",
    ),
    _raw(
        "nested-beyond-json-recursion-limit",
        "unreadable",
        "[" * 100_000 + "]" * 100_000,
        200,
        "application/json",
    ),
    _raw(
        "nested-in-propertybag-beyond-json-limit",
        "unreadable",
        _swap(GOOD, '"10 GB"', '"10 GB", "deep": ' + "[" * 5000 + "]" * 5000),
        200,
        "application/json",
    ),
    _json("nested-150-levels", with_ext(propertyBag={"deep": nested(150)}), "unreadable"),
    _json("json-list", [], "unreadable"),
    _json("json-list-of-a-job", [job_body()], "unreadable"),
    _json("json-string", "Completed", "unreadable"),
    _json("json-number", 42, "unreadable"),
    _json("json-null", None, "unreadable"),
    _json("json-true", True, "unreadable"),
    # --- an object that is not a job ------------------------------------------------------------
    _json("empty-object", {}, "not_job"),
    _json("missing-properties", {"id": f"{BASE}/backupJobs/{JOB}", "name": JOB}, "not_job"),
    _json("properties-null", {"name": JOB, "properties": None}, "not_job"),
    _json("properties-list", {"name": JOB, "properties": [job_body()["properties"]]}, "not_job"),
    _json("properties-string", {"name": JOB, "properties": "InProgress"}, "not_job"),
    # --- wrong types, field by field ------------------------------------------------------------
    _json("status-number", job_body(3)),
    _json("status-null", job_body(None)),
    _json("status-unknown-word", job_body("Paused")),
    _json("status-lower-case-failed", job_body("failed")),
    _json(
        "names-of-wrong-types",
        job_body(
            entityFriendlyName={"name": "vm1"},
            operation=["Backup"],
            jobType=12,
            backupManagementType=True,
            activityId=None,
            workloadType=[],
        ),
    ),
    _json("name-in-upper-case", {**job_body("Completed"), "name": JOB.upper()}),
    _json("name-hostile", {**job_body(), "name": "../../" + ANSI, "id": "/x/../" + ANSI}),
    _json("id-and-name-of-wrong-types", {**job_body(), "id": 7, "name": ["x"]}),
    _json("times-of-wrong-types", job_body(startTime=12345, endTime="yesterday", duration={})),
    _json(
        "times-at-the-ends-of-the-calendar",
        job_body(
            "Completed",
            startTime="0001-01-01T00:00:00",
            duration="P99999999D",
            endTime="9999-12-31T23:59:59.9999999-14:00",
        ),
    ),
    _json("durations-odd", job_body(duration="99999999.23:59:59.999999999")),
    _json("negative-duration", job_body(duration="-PT5M")),
    _json("extended-info-string", job_body(extendedInfo="none")),
    _json("tasks-list-an-object", with_ext(tasksList={"taskId": "x"}, propertyBag=["a", "b"])),
    _json(
        "tasks-of-wrong-types",
        with_ext(
            tasksList=[
                "a",
                1,
                None,
                [],
                {
                    "taskId": 5,
                    "status": [],
                    "progressPercentage": "NaN",
                    "startTime": True,
                    "duration": 3.5,
                    "taskExecutionDetails": {},
                },
            ]
        ),
    ),
    _json(
        "progress-out-of-range",
        with_ext(
            progressPercentage=1e308,
            tasksList=[
                {"taskId": "a", "status": "InProgress", "progressPercentage": -50},
                {"taskId": "b", "status": "InProgress", "progressPercentage": 150},
                {"taskId": "c", "status": "InProgress", "progressPercentage": "Infinity"},
                {"taskId": "d", "status": "InProgress", "progressPercentage": True},
            ],
        ),
    ),
    _raw(
        "nan-and-infinity-literals",
        "job",
        _swap(_swap(GOOD, '"PT0S"', "NaN"), '"PT7M14S"', "Infinity"),
        200,
        "application/json",
    ),
    _json(
        "error-details-of-wrong-types",
        job_body(
            "Failed",
            errorDetails=[
                "s",
                None,
                {"errorCode": {}, "errorString": ["x"], "recommendations": "not a list"},
                {"errorCode": 400158, "errorTitle": 7, "recommendations": [None, 3, "Retry"]},
            ],
        ),
    ),
    _json("error-details-a-string", job_body("Failed", errorDetails="bad")),
    _json("actions-info-mixed", job_body(actionsInfo=[1, "Cancellable", None, True, 99, {}, ""])),
    _json(
        "property-bag-values-of-every-type",
        with_ext(
            propertyBag={
                "n": 1,
                "f": 1.5,
                "b": False,
                "z": None,
                "l": [1, [2]],
                "o": {"a": {"b": "c"}},
                "": "empty key",
                " padded ": "x",
            }
        ),
    ),
    _raw(
        "duplicate-keys",
        "job",
        f'{{"name": "{JOB}", "properties": {{"status": "Failed", "status": "Completed"}}}}',
        200,
        "application/json",
    ),
    # --- size and depth -------------------------------------------------------------------------
    _json("ten-thousand-tasks", with_ext(tasksList=TEN_THOUSAND_TASKS)),
    _json(
        "ten-thousand-properties",
        with_ext(propertyBag={f"key {n}": f"value {n}" for n in range(10_000)}),
    ),
    _json(
        "thousand-errors",
        job_body(
            "Failed",
            errorDetails=[
                {"errorCode": n, "errorString": f"error {n}", "recommendations": ["a", "b"]}
                for n in range(1000)
            ],
        ),
    ),
    _json(
        "nested-propertybag-values",
        with_ext(
            propertyBag={
                "deep list": nested(40),
                "deep object": {"a": nested(60)},
            }
        ),
    ),
    _json("hundred-thousand-character-name", job_body(entityFriendlyName="v" * 100_000)),
    # --- hostile and unusual text ---------------------------------------------------------------
    _json(
        "ansi-in-entity-and-operation",
        job_body(entityFriendlyName=ANSI, operation=ANSI, jobType=ANSI, activityId=ANSI),
    ),
    _json("ansi-in-property-bag", with_ext(propertyBag={ANSI: ANSI, "k": ANSI + "\n" + ANSI})),
    _json(
        "ansi-in-tasks",
        with_ext(
            tasksList=[
                {"taskId": ANSI, "status": ANSI, "taskExecutionDetails": ANSI, "duration": ANSI},
            ]
        ),
    ),
    _json(
        "ansi-in-error-strings",
        job_body(
            "Failed",
            errorDetails=[
                {
                    "errorCode": ANSI,
                    "errorTitle": ANSI,
                    "errorString": ANSI,
                    "recommendations": [ANSI, ANSI],
                },
            ],
            extendedInfo={"dynamicErrorMessage": ANSI, "tasksList": [], "propertyBag": {}},
        ),
    ),
    _json("ansi-in-status", job_body(ANSI)),
    _json(
        "c1-controls",
        job_body(
            entityFriendlyName=C1,
            operation=C1,
            extendedInfo={
                "propertyBag": {C1: C1},
                "tasksList": [{"taskId": C1, "status": "InProgress"}],
            },
        ),
    ),
    _json(
        "control-characters",
        job_body(
            entityFriendlyName=CONTROLS,
            extendedInfo={
                "propertyBag": {CONTROLS: CONTROLS},
                "tasksList": [
                    {"taskId": CONTROLS, "status": "InProgress", "taskExecutionDetails": CONTROLS}
                ],
            },
        ),
    ),
    _json(
        "bidi-overrides",
        job_body(
            entityFriendlyName=BIDI,
            extendedInfo={
                "propertyBag": {BIDI: BIDI},
                "tasksList": [{"taskId": BIDI, "status": "InProgress"}],
            },
        ),
    ),
    _json(
        "right-to-left-names",
        job_body(
            "Completed",
            entityFriendlyName="גיבוי-מכונה-וירטואלית",
            operation="نسخة احتياطية",
            extendedInfo={
                "propertyBag": {"שם": "مكنة ١٢٣"},
                "tasksList": [{"taskId": "העברת נתונים", "status": "Completed"}],
            },
        ),
    ),
    _json(
        "wide-and-combining-names",
        job_body(
            entityFriendlyName="服务器备份-💾🖥️-ｆｕｌｌ-e\u0301\u0301\u0301-👩\u200d💻",
            extendedInfo={
                "propertyBag": {"名前": "値" * 300},
                "tasksList": [
                    {"taskId": "スナップショット", "status": "InProgress", "progressPercentage": 50}
                ],
            },
        ),
    ),
    _json(
        "rich-markup-in-names",
        job_body(
            entityFriendlyName="[bold red]EVIL[/] [link=https://evil.example]x[/link]",
            extendedInfo={
                "propertyBag": {"[red]k[/red]": "[/]"},
                "tasksList": [{"taskId": "[blink]EVIL", "status": "InProgress"}],
            },
        ),
    ),
    _raw(
        "invalid-utf8-inside-strings",
        "job",
        _swap(GOOD, '"vm1"', '"vm\udcff1"').encode("utf-8", "surrogateescape"),
        200,
        "application/json",
    ),
    # --- odd headers and error answers ----------------------------------------------------------
    _raw("json-as-text-plain", "job", GOOD, 200, "text/plain"),
    _raw(
        "content-length-longer-than-body",
        "cut",
        GOOD,
        200,
        "application/json",
        **{"Content-Length": str(len(GOOD.encode()) + 50)},
    ),
    _raw(
        "content-encoding-gzip-but-plain",
        "cut",
        GOOD,
        200,
        "application/json",
        **{"Content-Encoding": "gzip"},
    ),
    _json(
        "not-found-with-ansi-message",
        {"error": {"code": "ResourceNotFound", "message": ANSI}},
        "http",
        404,
    ),
    _json(
        "forbidden-with-control-characters",
        {"error": {"code": CONTROLS, "message": CONTROLS + BIDI}},
        "http",
        403,
    ),
    _json(
        "bad-request-legacy-envelope",
        {"ErrorCode": "BMSUserError", "Message": {"Value": ANSI + C1}},
        "http",
        400,
    ),
    _json(
        "throttled-unreadable-retry-after",
        {"error": {"code": "TooManyRequests", "message": "slow down"}},
        "http",
        429,
        **{"Retry-After": "soon"},
    ),
    _json(
        "throttled-retry-after-a-year",
        {"error": {"code": "TooManyRequests", "message": "slow down"}},
        "http",
        429,
        **{"Retry-After": "31536000"},
    ),
    _raw("server-error-quarter-megabyte-html", "http", "<p>" + "x " * 125_000 + "</p>", 500),
    _json(
        "server-error-details-nested",
        {
            "error": {
                "code": "X",
                "message": "m",
                "details": [{"code": ANSI, "message": ANSI}, "odd", {"message": {"not": "text"}}],
            }
        },
        "http",
        500,
    ),
)


def page(items: list[Any], next_link: Any = None, with_link: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"value": items}
    if with_link:
        body["nextLink"] = next_link
    return body


_ITEM = job_body("Completed")
_SECOND = copy.deepcopy(_ITEM)
_SECOND["name"] = "00000000-0000-4000-8000-000000000002"
_NEXT = f"{LIST_URL}?api-version=2017-07-01&$skiptoken=2"

PAGE_CASES: tuple[Case, ...] = (
    _json("page-value-an-object", {"value": {"a": _ITEM}}, "unreadable"),
    _json("page-value-missing", {"nextLink": None}, "unreadable"),
    _json("page-value-null", {"value": None}, "unreadable"),
    _json("page-items-of-every-type", page(["a", 1, None, [], True, _ITEM])),
    _json("page-next-link-a-number", page([_ITEM], 5, True), "unreadable"),
    _json("page-next-link-an-object", page([_ITEM], {"href": _NEXT}, True), "unreadable"),
    _json(
        "page-next-link-to-itself",
        page([_ITEM], f"{LIST_URL}?api-version=2026-10-01", True),
        "unreadable",
    ),
    _json("page-next-link-empty", page([_ITEM], "", True)),
    _json(
        "page-next-link-relative", page([_ITEM], _NEXT[len("https://management.azure.com") :], True)
    ),
    _json(
        "page-next-link-foreign-host",
        page([_ITEM], "https://evil.example/backupJobs?$skiptoken=2", True),
        "unreadable",
    ),
    _json("page-next-link-plain-http", page([_ITEM], "http" + _NEXT[5:], True), "unreadable"),
    _json("page-duplicate-items", page([_ITEM, _ITEM, _SECOND, _ITEM])),
    _json("page-items-without-properties", page([{"name": JOB}, {"properties": None}, _SECOND])),
    _json(
        "page-two-thousand-items",
        page([{**_ITEM, "name": f"{n:08d}-0000-4000-8000-000000000000"} for n in range(2000)]),
    ),
)

SECOND_PAGE = json.dumps(page([_SECOND]))
