"""The base of every load-test user: requests named by endpoint and region, answers
checked and sorted, and each one recorded in the run's journal.

An integration user behaves as a well-written Clockify integration does: it waits
as long as `Retry-After` says when its workspace is locked by a transfer (TR-06),
and when its key is refused after a transfer it asks for the new key and region,
as its admin would paste them in (TR-12), then carries on there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from locust import FastHttpUser, between

from loadtests.context import TRACKER, RunContext
from loadtests.journal import (
    ACCOUNT,
    ACKED,
    ADMIN,
    API,
    CHECK,
    CREATE,
    FAILED,
    LOCKED,
    OK,
    REFUSED,
    REKEYED,
    UNKNOWN,
    Call,
    Write,
)
from loadtests.listeners import context_of
from loadtests.plan import require_loopback

logger = logging.getLogger(__name__)

LOCK_CODE = 9001  # WorkspaceLocked, with Retry-After (docs/errors.md)
# Answers that mean "not here any more": a key this region does not know (RT-04)
# and a workspace this region does not serve.
STALE_ANSWERS = frozenset({(401, 4003), (403, 9002)})
MAX_ATTEMPTS = 4
WS = "/workspaces/{workspaceId}"  # how statistics name a workspace's routes


@dataclass(frozen=True)
class WriteIntent:
    """A write about to be sent: what it does and the content it asks for."""

    op: str
    token: str
    entry_id: str | None
    content: str | None


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


@dataclass(frozen=True)
class Request:
    """A call on a region's API, as it is tried again after a lock or a transfer."""

    method: str
    route: str
    path: str
    reports: bool
    json: Any
    params: dict[str, str]
    scoped: bool


def _body(response: Any) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None


def _describe(status: int, body: Any, response: Any) -> str:
    if status == 0:
        return f"no answer: {getattr(response, 'error', None)!r}"[:160]
    if isinstance(body, dict) and "code" in body:
        return f"{status}/{body['code']} {str(body.get('message', ''))[:80]}"
    return f"{status} {str(getattr(response, 'text', '') or '')[:80]}"


def _retry_after(response: Any) -> float | None:
    value = (response.headers or {}).get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class RegionsimUser(FastHttpUser):
    """Any user of the load test: admin calls and checks recorded in the journal."""

    abstract = True
    # Every request goes to an absolute loopback URL from the plan; this is only the
    # base FastHttpUser insists on.
    host = "http://127.0.0.1"
    network_timeout = 15.0
    connection_timeout = 5.0

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.ctx: RunContext = context_of(environment)

    def admin(
        self,
        method: str,
        route: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        expect: Collection[int] = (200,),
        workspace_id: str | None = None,
    ) -> Answer | None:
        """Call the accounts service's admin API; None unless the status is expected."""
        name = f"admin {method} {route}"
        url = require_loopback(self.ctx.plan.admin_url) + path
        sent = time.time()
        with self.client.request(
            method,
            url,
            name=name,
            json=json,
            headers=dict(headers or {}),
            catch_response=True,
        ) as response:
            done = time.time()
            body = _body(response)
            problem = (
                None
                if response.status_code in expect
                else _describe(response.status_code, body, response)
            )
            if problem is None:
                response.success()
            else:
                response.failure(problem)
        outcome = OK if problem is None else FAILED
        self.ctx.journal.add_call(
            Call(workspace_id, None, name, ADMIN, sent, done, outcome, problem or "")
        )
        return Answer(response.status_code, body) if problem is None else None

    def check_failed(
        self, name: str, detail: str, workspace_id: str | None, region: str | None
    ) -> None:
        """A read that contradicts what was written: a failure in stats and journal."""
        now = time.time()
        self.environment.events.request.fire(
            request_type="CHECK",
            name=name,
            response_time=0,
            response_length=0,
            exception=AssertionError(detail),
            context={},
        )
        self.ctx.journal.add_call(
            Call(workspace_id, region, name, CHECK, now, now, FAILED, detail)
        )


class IntegrationUser(RegionsimUser):
    """An integration acting as one member of one workspace, on its current region."""

    abstract = True
    kind = TRACKER
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        slot, self.number = self.ctx.claim(self.kind)
        self.workspace_id = slot.workspace_id
        self.member_id = slot.member_id
        self.role = slot.role
        self.region: str | None = None
        self.key: str | None = None
        self.last_write: str | None = None
        self.refresh()

    @property
    def ws_path(self) -> str:
        return f"/workspaces/{self.workspace_id}"

    def refresh(self) -> bool:
        """Look up the workspace's region and the member's key there; True if changed."""
        answer = self.admin(
            "GET",
            "/workspaces/{id}",
            f"/workspaces/{self.workspace_id}",
            workspace_id=self.workspace_id,
        )
        if answer is None:
            return False
        member = next(
            (m for m in answer.body["members"] if m["id"] == self.member_id), None
        )
        region = answer.body["region"]
        key = member["apiKey"] if member else None
        changed = (region, key) != (self.region, self.key)
        self.region, self.key = region, key
        return changed

    def api(
        self,
        method: str,
        route: str,
        path: str,
        *,
        reports: bool = False,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        expect: Collection[int] = (200,),
        scoped: bool = True,
        write: WriteIntent | None = None,
    ) -> Answer | None:
        """Call the region's API, backing off on a lock and following a transfer."""
        request = Request(
            method, route, path, reports, json, dict(params or {}), scoped
        )
        for _ in range(MAX_ATTEMPTS):
            if self.key is None or self.region is None:
                self.refresh()
                if self.key is None or self.region is None:
                    return None
            outcome, answer, retry_after = self._attempt(request, expect, write)
            if outcome == OK:
                return answer
            if outcome == LOCKED:
                time.sleep(min(retry_after or 1.0, self.ctx.max_retry_after))
            elif outcome == FAILED:
                return None
        return None

    def _attempt(
        self, request: Request, expect: Collection[int], write: WriteIntent | None
    ) -> tuple[str, Answer, float | None]:
        """One request on the current region, recorded; returns how it ended."""
        assert self.region is not None and self.key is not None
        region = self.region
        api = "/report/v1" if request.reports else "/api/v1"
        url = require_loopback(self.ctx.plan.region_roots[region]) + api + request.path
        name = f"{request.method} {request.route} [{region}]"
        sent = time.time()
        try:
            with self.client.request(
                request.method,
                url,
                name=name,
                headers={"X-Api-Key": self.key},
                json=request.json,
                params=request.params,
                catch_response=True,
            ) as response:
                done = time.time()
                status, body = response.status_code, _body(response)
                outcome, detail = self._sort(response, status, body, expect)
                if outcome == FAILED:
                    response.failure(detail)
                else:
                    if outcome != OK:
                        response.request_meta["name"] = f"{name} ({outcome})"
                    response.success()
        except BaseException:
            # Stopped mid-request (or worse): the write may or may not have landed.
            if write is not None:
                self._record(write, sent, time.time(), FAILED, 0, None)
            raise
        kind = API if request.scoped else ACCOUNT
        call = Call(self.workspace_id, region, name, kind, sent, done, outcome, detail)
        self.ctx.journal.add_call(call)
        if write is not None:
            self._record(write, sent, done, outcome, status, body)
        return outcome, Answer(status, body), _retry_after(response)

    def _sort(
        self, response: Any, status: int, body: Any, expect: Collection[int]
    ) -> tuple[str, str]:
        code = body.get("code") if isinstance(body, dict) else None
        if status in expect:
            if status != 204 and body is None:
                return FAILED, f"{status} without a JSON body"
            return OK, ""
        if status == 423 and code == LOCK_CODE and _retry_after(response) is not None:
            return LOCKED, ""
        if (status, code) in STALE_ANSWERS:
            if self.refresh():
                return REKEYED, ""
            detail = _describe(status, body, response)
            return FAILED, f"{detail} (key and region current)"
        return FAILED, _describe(status, body, response)

    def _record(
        self,
        write: WriteIntent,
        sent: float,
        done: float,
        outcome: str,
        status: int,
        body: Any,
    ) -> None:
        if outcome == OK:
            result = ACKED
        elif outcome in (LOCKED, REKEYED) or 400 <= status < 500:
            result = REFUSED
        else:
            result = UNKNOWN
        entry_id = write.entry_id
        if write.op == CREATE and result == ACKED:
            entry_id = body.get("id") if isinstance(body, dict) else None
            if entry_id is None:
                result = UNKNOWN
        self.last_write = result
        self.ctx.journal.add_write(
            Write(
                self.workspace_id,
                write.token,
                entry_id,
                write.op,
                write.content,
                sent,
                done,
                result,
            )
        )
