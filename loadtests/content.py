"""The content of a time entry as the audit compares it, whatever its source.

A write is recorded with a hash of what the client asked to store; the audit
hashes what a region's store holds (an internal export row) and the API's answer
(an entry DTO) the same way. Only fields the client controls take part: ids the
server assigns and bookkeeping columns (`created_at`, `residency`) do not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

# Every entry the load test creates carries this prefix and a token that names the
# create attempt, so the audit can find copies of it and writes it never asked for.
DESCRIPTION_PREFIX = "regionsim-load "


def iso(epoch: int) -> str:
    """Whole-second ISO 8601 UTC with `Z`, as the regular API prints times."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: str | float | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return round(value)
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    return round(datetime.fromisoformat(text).timestamp())


def canonical(
    *,
    user_id: str,
    description: str,
    start: str | float | int,
    end: str | float | int | None,
    billable: bool | int,
    project_id: str | None,
    task_id: str | None,
    tag_ids: Sequence[str] | None,
    entry_type: str = "REGULAR",
) -> dict[str, Any]:
    """The fields a client sets, normalised: whole-second epochs, sorted tag ids."""
    return {
        "userId": user_id,
        "description": description or "",
        "start": _epoch(start),
        "end": _epoch(end),
        "billable": bool(billable),
        "projectId": project_id or None,
        "taskId": task_id or None,
        "tagIds": sorted(set(tag_ids or ())),
        "type": entry_type or "REGULAR",
    }


def content_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 (first 32 hex digits) of the canonical fields."""
    text = json.dumps(dict(fields), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def hash_of_body(user_id: str, body: Mapping[str, Any]) -> str:
    """Hash of a create or update request body, for the user it writes for."""
    return content_hash(
        canonical(
            user_id=user_id,
            description=body.get("description") or "",
            start=body["start"],
            end=body.get("end"),
            billable=body.get("billable", False),
            project_id=body.get("projectId"),
            task_id=body.get("taskId"),
            tag_ids=body.get("tagIds"),
            entry_type=body.get("type", "REGULAR"),
        )
    )


def hash_of_dto(dto: Mapping[str, Any]) -> str:
    """Hash of a time entry as the regular API answers it."""
    interval = dto.get("timeInterval") or {}
    return content_hash(
        canonical(
            user_id=dto["userId"],
            description=dto.get("description") or "",
            start=interval["start"],
            end=interval.get("end"),
            billable=dto.get("billable", False),
            project_id=dto.get("projectId"),
            task_id=dto.get("taskId"),
            tag_ids=dto.get("tagIds"),
            entry_type=dto.get("type", "REGULAR"),
        )
    )


def hash_of_row(columns: Sequence[str], row: Sequence[Any]) -> str:
    """Hash of a `time_entries` row from a region's internal export."""
    values = dict(zip(columns, row, strict=True))
    tags = values.get("tag_ids")
    if isinstance(tags, str):
        tags = json.loads(tags)
    return content_hash(
        canonical(
            user_id=values["user_id"],
            description=values.get("description") or "",
            start=values["start"],
            end=values.get("end"),
            billable=values.get("billable") or 0,
            project_id=values.get("project_id"),
            task_id=values.get("task_id"),
            tag_ids=tags,
            entry_type=values.get("type") or "REGULAR",
        )
    )


def token_of(description: str | None) -> str | None:
    """The create-attempt token in a description the load test wrote, else None."""
    if not description or not description.startswith(DESCRIPTION_PREFIX):
        return None
    rest = description[len(DESCRIPTION_PREFIX) :]
    token = rest.split(" ", 1)[0]
    return token or None
