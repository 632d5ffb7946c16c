"""The accounts service's client for the regions' internal interface."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import orjson

from simulator.region.schema import TABLES_BY_NAME, encode_row

logger = logging.getLogger(__name__)

INTERNAL = "/__regionsim/internal"


class RegionUnavailable(Exception):
    """A region server did not answer, or answered with an error.

    ``refused`` tells the two apart in the message: a 4xx answer means the region
    is up and turned the request down.
    """

    def __init__(self, region_id: str, detail: str, refused: bool = False) -> None:
        what = "refused a request" if refused else "unavailable"
        super().__init__(f"region {region_id} {what}: {detail}")
        self.region_id = region_id
        self.detail = detail
        self.refused = refused


class RegionClient:
    """Calls one region's internal routes; every failure becomes RegionUnavailable."""

    def __init__(self, region_id: str, url: str, timeout: float = 30.0) -> None:
        self.region_id = region_id
        self.url = url.rstrip("/")
        # Plain HTTP on loopback (or a container network): verify=False only spares
        # loading a CA bundle, which would cost a quarter second per client.
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout, trust_env=False, verify=False
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RegionUnavailable(
                self.region_id, f"{method} {path}: {exc!r}"
            ) from exc
        if response.status_code >= 400:
            raise RegionUnavailable(
                self.region_id,
                f"{method} {path}: {response.status_code} {response.text[:300]}",
                refused=response.status_code < 500,
            )
        return orjson.loads(response.content) if response.content else None

    def put_view(self, view: dict[str, Any]) -> None:
        self._call("PUT", f"{INTERNAL}/view", content=orjson.dumps(view))

    def set_hosting(self, workspace_id: str, state: str, **fields: Any) -> None:
        body = {"state": state, **fields}
        self._call(
            "PUT",
            f"{INTERNAL}/workspaces/{workspace_id}/hosting",
            content=orjson.dumps(body),
        )

    def hosting(self, workspace_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._call(
            "GET", f"{INTERNAL}/workspaces/{workspace_id}/hosting"
        )
        return result

    def export_batch(
        self, workspace_id: str, table: str, after: str, limit: int
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "GET",
            f"{INTERNAL}/workspaces/{workspace_id}/export",
            params={"table": table, "after": after, "limit": limit},
        )
        return result

    def import_batch(
        self, workspace_id: str, table: str, columns: list[str], rows: list[Any]
    ) -> str:
        """Insert one batch; the digest of the rows as the region stored them."""
        return str(self._import(workspace_id, table, columns, rows, True)["sha256"])

    def _import(
        self,
        workspace_id: str,
        table: str,
        columns: list[str] | tuple[str, ...],
        rows: list[Any],
        digest: bool,
    ) -> dict[str, Any]:
        body = {"table": table, "columns": columns, "rows": rows, "digest": digest}
        result: dict[str, Any] = self._call(
            "POST",
            f"{INTERNAL}/workspaces/{workspace_id}/import",
            content=orjson.dumps(body),
        )
        return result

    def import_rows(
        self, workspace_id: str, table_name: str, rows: list[dict[str, Any]]
    ) -> None:
        """Import dict rows (seeding): encode them to the wire's column arrays."""
        table = TABLES_BY_NAME[table_name]
        encoded = [encode_row(table, row) for row in rows]
        self._import(workspace_id, table_name, table.all_columns, encoded, False)

    def counts(self, workspace_id: str) -> dict[str, int]:
        result: dict[str, int] = self._call(
            "GET", f"{INTERNAL}/workspaces/{workspace_id}/counts"
        )
        return result

    def checksums(self, workspace_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "GET", f"{INTERNAL}/workspaces/{workspace_id}/checksums"
        )
        return result

    def delete_workspace(self, workspace_id: str) -> int:
        result = self._call("DELETE", f"{INTERNAL}/workspaces/{workspace_id}")
        return int(result["removed"])

    def audit(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"{INTERNAL}/audit")
        return result

    def reset(self) -> None:
        self._call("POST", f"{INTERNAL}/reset")

    def healthy(self) -> bool:
        try:
            return (
                self._http.get("/__regionsim/v1/health", timeout=2.0).status_code == 200
            )
        except httpx.HTTPError:
            return False
