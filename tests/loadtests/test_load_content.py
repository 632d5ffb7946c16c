"""One time entry hashes the same from its request body, its API answer and its store row."""

from __future__ import annotations

import json

from loadtests.content import (
    DESCRIPTION_PREFIX,
    hash_of_body,
    hash_of_dto,
    hash_of_row,
    token_of,
)

USER = "6725a90f292612af82000002"
TAGS = ["68a5509ea8393facc2000021", "68a5509ea8393facc2000020"]
BODY: dict[str, object] = {
    "description": f"{DESCRIPTION_PREFIX}u3n7 v1",
    "start": "2027-01-04T09:00:00Z",
    "end": "2027-01-04T09:05:30Z",
    "billable": True,
    "projectId": "68a5509ea8393facc2000010",
    "tagIds": TAGS,
}
COLUMNS = [
    "id", "workspace_id", "residency", "user_id", "description", "start", "end",
    "billable", "project_id", "task_id", "tag_ids", "type", "custom_fields",
    "is_locked", "created_at",
]  # fmt: skip


def _row(**changes: object) -> list[object]:
    values = {
        "id": "6b135ef597e7978abe0000aa",
        "workspace_id": "68a5509ea8393facc2000001",
        "residency": "time-entries",
        "user_id": USER,
        "description": BODY["description"],
        "start": 1799053200.0,
        "end": 1799053530.0,
        "billable": 1,
        "project_id": BODY["projectId"],
        "task_id": None,
        "tag_ids": json.dumps(TAGS[::-1]),
        "type": "REGULAR",
        "custom_fields": "[]",
        "is_locked": 0,
        "created_at": 1799999999.5,
    }
    values.update(changes)
    return [values[c] for c in COLUMNS]


def _dto() -> dict[str, object]:
    return {
        "id": "6b135ef597e7978abe0000aa",
        "description": BODY["description"],
        "tagIds": TAGS,
        "userId": USER,
        "billable": True,
        "taskId": None,
        "projectId": BODY["projectId"],
        "timeInterval": {
            "start": "2027-01-04T09:00:00Z",
            "end": "2027-01-04T09:05:30Z",
            "duration": "PT5M30S",
        },
        "type": "REGULAR",
    }


def test_content_hash_is_the_same_from_body_answer_and_store_row() -> None:
    expected = hash_of_body(USER, BODY)

    assert hash_of_dto(_dto()) == expected
    assert hash_of_row(COLUMNS, _row()) == expected


def test_content_hash_ignores_server_bookkeeping() -> None:
    assert hash_of_row(COLUMNS, _row(created_at=1.0, is_locked=1)) == hash_of_body(
        USER, BODY
    )


def test_content_hash_changes_with_any_field_the_client_sets() -> None:
    original = hash_of_row(COLUMNS, _row())

    changed = [
        _row(description="something else"),
        _row(end=1799053531.0),
        _row(billable=0),
        _row(project_id=None),
        _row(tag_ids="[]"),
        _row(user_id="6725a90f292612af82000003"),
    ]

    assert all(hash_of_row(COLUMNS, row) != original for row in changed)


def test_token_is_read_from_a_load_test_description_only() -> None:
    assert token_of(f"{DESCRIPTION_PREFIX}u3n7 v12") == "u3n7"
    assert token_of("Design review") is None
    assert token_of(None) is None
