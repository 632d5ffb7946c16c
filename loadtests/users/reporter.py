"""ReportReader: a reporting integration run by a workspace admin; it only reads."""

from __future__ import annotations

import random

from locust import task

from loadtests.content import iso
from loadtests.context import REPORTER
from loadtests.users.base import WS, IntegrationUser

# A range that covers the seeded history and the load test's own days.
RANGE_START = iso(1_756_684_800)  # 2025-09-01
RANGE_END = iso(1_830_297_600)  # 2028-01-01
GROUPS = (["PROJECT"], ["USER", "PROJECT"], ["DATE"], ["CLIENT", "TAG"])


class ReportReader(IntegrationUser):
    """Reads the user, workspaces, members and projects; runs summary and detailed reports."""

    weight = 1
    kind = REPORTER

    @task(1)
    def get_current_user(self) -> None:
        self.api("GET", "/user", "/user", scoped=False)

    @task(1)
    def get_workspaces(self) -> None:
        answer = self.api("GET", "/workspaces", "/workspaces", scoped=False)
        listed = answer is not None and any(
            w["id"] == self.workspace_id for w in answer.body
        )
        # The member's key lists every workspace its region serves; a workspace
        # that has just been transferred away is the one excuse.
        if answer is not None and not listed and not self.refresh():
            self.check_failed(
                f"CHECK workspaces [{self.region}]",
                "the workspace is missing from GET /workspaces on its region",
                self.workspace_id,
                self.region,
            )

    @task(1)
    def get_users_of_workspace(self) -> None:
        self.api("GET", f"{WS}/users", f"{self.ws_path}/users")

    @task(2)
    def get_projects(self) -> None:
        self.api(
            "GET",
            f"{WS}/projects",
            f"{self.ws_path}/projects",
            params={"page-size": "50"},
        )

    @task(3)
    def summary_report(self) -> None:
        self.api(
            "POST",
            f"{WS}/reports/summary",
            f"{self.ws_path}/reports/summary",
            reports=True,
            json={
                "dateRangeStart": RANGE_START,
                "dateRangeEnd": RANGE_END,
                "summaryFilter": {"groups": random.choice(GROUPS)},
            },
        )

    @task(3)
    def detailed_report(self) -> None:
        self.api(
            "POST",
            f"{WS}/reports/detailed",
            f"{self.ws_path}/reports/detailed",
            reports=True,
            json={
                "dateRangeStart": RANGE_START,
                "dateRangeEnd": RANGE_END,
                "detailedFilter": {"page": 1, "pageSize": 50},
            },
        )
