"""Page and page-size as the real API reads them, and the Last-Page header it sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from simulator.web import json_response, query_int

MAX_PAGE_SIZE = 5000
MAX_PAGE = 1_000_000_000  # far past any data; keeps offsets inside SQLite's integers


@dataclass(frozen=True)
class Page:
    """A 1-based page of a list."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @classmethod
    def from_request(
        cls, request: Request, default_size: int = 50, max_size: int = MAX_PAGE_SIZE
    ) -> Page:
        number = query_int(request, "page", 1, minimum=1, maximum=MAX_PAGE)
        size = query_int(
            request, "page-size", default_size, minimum=1, maximum=max_size
        )
        return cls(number, size)


def paged_response(items: list[Any], page: Page, total: int) -> Response:
    """A bare array with `Last-Page` (and `total-count`, as the developer host sends)."""
    last = page.offset + len(items) >= total
    headers = {"Last-Page": "true" if last else "false", "total-count": str(total)}
    return json_response(items, headers=headers)


def paginate(items: list[Any], page: Page) -> Response:
    """Page an in-memory list."""
    window = items[page.offset : page.offset + page.size]
    return paged_response(window, page, len(items))
