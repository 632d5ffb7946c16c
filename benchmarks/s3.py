"""S3 requests signed the way an SDK signs them, for the AWS emulator peers.

The credentials are dummies and the emulators do not check signatures; the headers
are there so each GET carries the same authentication a real client sends.
"""

from __future__ import annotations

import json

from botocore.auth import S3SigV4Auth  # type: ignore[import-untyped]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
from botocore.credentials import Credentials  # type: ignore[import-untyped]

from benchmarks.local import BenchmarkError, http_request, require_loopback

BUCKET = "regionsim-bench"
OBJECT_KEY = "time-entries/64f0c0ffee0000000000beef.json"
SIGNING_REGION = "us-east-1"
_DUMMY = Credentials("AKIAREGIONSIMBENCH00", "regionsim-bench-dummy-secret")

# About the size of one time entry as the Clockify API returns it.
OBJECT_BODY = json.dumps(
    {
        "id": "64f0c0ffee0000000000beef",
        "description": "Weekly planning",
        "userId": "64f0c0ffee0000000000a001",
        "workspaceId": "64f0c0ffee0000000000b001",
        "projectId": "64f0c0ffee0000000000c001",
        "billable": True,
        "tagIds": ["64f0c0ffee0000000000d001"],
        "timeInterval": {
            "start": "2026-03-02T08:00:00Z",
            "end": "2026-03-02T09:30:00Z",
            "duration": "PT1H30M",
        },
    }
).encode()


def signed_headers(method: str, url: str, body: bytes = b"") -> dict[str, str]:
    """SigV4 headers for one S3 request to `url` (which must be on loopback)."""
    require_loopback(url)
    request = AWSRequest(method=method, url=url, data=body)
    S3SigV4Auth(_DUMMY, "s3", SIGNING_REGION).add_auth(request)
    return {name: str(value) for name, value in request.headers.items()}


def list_buckets_url(base_url: str) -> str:
    return f"{base_url}/"


def object_url(base_url: str) -> str:
    return f"{base_url}/{BUCKET}/{OBJECT_KEY}"


def create_object(base_url: str) -> None:
    """Create the bucket and the object that the load GETs."""
    steps = [(f"{base_url}/{BUCKET}", b""), (object_url(base_url), OBJECT_BODY)]
    for url, body in steps:
        answer = http_request(url, "PUT", signed_headers("PUT", url, body), body)
        if answer.status != 200:
            raise BenchmarkError(
                f"PUT {url} answered {answer.status}: {answer.body[:200]!r}"
            )
