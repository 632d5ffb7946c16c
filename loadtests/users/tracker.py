"""TimeTracker: an integration that tracks its member's time, and reads it back.

Each user writes into a day of the calendar no other user touches, so whatever
it lists or reports for that day must be exactly the entries it has live: a
read that disagrees with an acknowledged write is a failure, whichever region
serves it. After an answer whose outcome is unknown the user stops comparing,
as it can no longer say what the store should hold.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from locust import task

from loadtests.content import DESCRIPTION_PREFIX, hash_of_body, hash_of_dto, iso
from loadtests.context import TRACKER
from loadtests.journal import CREATE, DELETE, UNKNOWN, UPDATE
from loadtests.users.base import WS, IntegrationUser, WriteIntent

# Seeded history ends on 2026-09-01; each user gets its own day after 2027-01-01.
FIRST_DAY = 1_798_761_600
DAY = 86400
MAX_LIVE = 25


@dataclass
class LiveEntry:
    token: str
    body: dict[str, Any]
    content: str


class TimeTracker(IntegrationUser):
    """Creates, reads, lists, updates and deletes time entries; runs reports."""

    weight = 4
    kind = TRACKER

    def on_start(self) -> None:
        super().on_start()
        self.day = FIRST_DAY + self.number * DAY
        # Seeded by the user's number: the same run writes the same entries.
        self.random = random.Random(self.number)
        self.live: dict[str, LiveEntry] = {}
        self.made = 0
        self.projects: list[str] = []
        self.tags: list[str] = []
        # Set once a write's outcome is unknown: exact read checks stop then.
        self.unsure = False
        self.load_catalog()

    def load_catalog(self) -> None:
        projects = self.api("GET", f"{WS}/projects", f"{self.ws_path}/projects")
        tags = self.api("GET", f"{WS}/tags", f"{self.ws_path}/tags")
        if projects is not None:
            self.projects = [p["id"] for p in projects.body]
        if tags is not None:
            self.tags = [t["id"] for t in tags.body]

    def entry_body(self, token: str, version: int) -> dict[str, Any]:
        """A whole entry on this user's day; the token names the create attempt."""
        slot = self.random.randrange(140)
        start = self.day + slot * 600
        return {
            "description": f"{DESCRIPTION_PREFIX}{token} v{version}",
            "start": iso(start),
            "end": iso(start + self.random.randrange(60, 590)),
            "billable": self.random.random() < 0.5,
            "projectId": self.random.choice(self.projects) if self.projects else None,
            "tagIds": self.random.sample(
                self.tags, k=min(len(self.tags), self.random.randrange(3))
            ),
        }

    # -- writes ------------------------------------------------------------

    @task(4)
    def create_time_entry(self) -> None:
        if len(self.live) >= MAX_LIVE:
            self.delete_time_entry()
            return
        self.made += 1
        token = f"u{self.number}n{self.made}"
        body = self.entry_body(token, 1)
        content = hash_of_body(self.member_id, body)
        answer = self.api(
            "POST",
            f"{WS}/time-entries",
            f"{self.ws_path}/time-entries",
            json=body,
            expect=(201,),
            write=WriteIntent(CREATE, token, None, content),
        )
        self.note_outcome(answer)
        if answer is None:
            return
        self.live[answer.body["id"]] = LiveEntry(token, body, content)
        if hash_of_dto(answer.body) != content:
            self.mismatch("create echo", answer.body["id"])

    @task(2)
    def update_time_entry(self) -> None:
        if not self.live:
            return
        entry_id, entry = self.random.choice(list(self.live.items()))
        version = int(entry.body["description"].rsplit(" v", 1)[1]) + 1
        body = self.entry_body(entry.token, version)
        content = hash_of_body(self.member_id, body)
        answer = self.api(
            "PUT",
            f"{WS}/time-entries/{{id}}",
            f"{self.ws_path}/time-entries/{entry_id}",
            json=body,
            write=WriteIntent(UPDATE, entry.token, entry_id, content),
        )
        self.note_outcome(answer)
        if answer is not None:
            self.live[entry_id] = LiveEntry(entry.token, body, content)

    @task(1)
    def delete_time_entry(self) -> None:
        if not self.live:
            return
        entry_id, entry = self.random.choice(list(self.live.items()))
        answer = self.api(
            "DELETE",
            f"{WS}/time-entries/{{id}}",
            f"{self.ws_path}/time-entries/{entry_id}",
            expect=(204,),
            write=WriteIntent(DELETE, entry.token, entry_id, None),
        )
        self.note_outcome(answer)
        if answer is not None:
            del self.live[entry_id]

    def note_outcome(self, answer: Any) -> None:
        """A write that did not succeed may still have landed, unless it was refused."""
        if answer is None and self.last_write == UNKNOWN:
            self.unsure = True

    # -- reads -------------------------------------------------------------

    @task(2)
    def get_time_entry(self) -> None:
        if not self.live:
            return
        entry_id, entry = self.random.choice(list(self.live.items()))
        answer = self.api(
            "GET",
            f"{WS}/time-entries/{{id}}",
            f"{self.ws_path}/time-entries/{entry_id}",
        )
        stale = answer is not None and hash_of_dto(answer.body) != entry.content
        if stale and not self.unsure:
            self.mismatch("read", entry_id)

    @task(2)
    def get_time_entries_of_user(self) -> None:
        answer = self.api(
            "GET",
            f"{WS}/user/{{userId}}/time-entries",
            f"{self.ws_path}/user/{self.member_id}/time-entries",
            params={
                "start": iso(self.day),
                "end": iso(self.day + DAY - 1),
                "page-size": "200",
            },
        )
        if answer is not None and not self.unsure:
            listed = {e["id"] for e in answer.body}
            if listed != set(self.live):
                self.mismatch("list", f"{len(listed)} listed, {len(self.live)} live")

    @task(1)
    def read_workspace(self) -> None:
        self.api("GET", WS, self.ws_path)
        self.load_catalog()

    @task(1)
    def detailed_report(self) -> None:
        answer = self.api(
            "POST",
            f"{WS}/reports/detailed",
            f"{self.ws_path}/reports/detailed",
            reports=True,
            json={
                "dateRangeStart": iso(self.day),
                "dateRangeEnd": iso(self.day + DAY - 1),
                "detailedFilter": {"page": 1, "pageSize": 200},
            },
        )
        if answer is not None and not self.unsure:
            reported = {e["_id"] for e in answer.body["timeentries"]}
            if reported != set(self.live):
                self.mismatch(
                    "report", f"{len(reported)} reported, {len(self.live)} live"
                )

    def mismatch(self, what: str, detail: str) -> None:
        self.check_failed(
            f"CHECK {what} [{self.region}]",
            f"{what} disagrees with acknowledged writes: {detail}",
            self.workspace_id,
            self.region,
        )
