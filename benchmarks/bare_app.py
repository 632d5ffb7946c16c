"""The floor: a bare Starlette app on uvicorn with one authenticated GET.

It does what any region server must do at the least for ``GET /api/v1/user``:
read the ``X-Api-Key`` header, look the key up in a dict and answer JSON.
Start it with ``uvicorn benchmarks.bare_app:app``.
"""

from __future__ import annotations

import random

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

USER_COUNT = 1000


def _seeded_users(seed: int = 1) -> dict[str, dict[str, str]]:
    rng = random.Random(seed)
    users: dict[str, dict[str, str]] = {}
    for n in range(USER_COUNT):
        user_id = f"{rng.getrandbits(96):024x}"
        users[f"{rng.getrandbits(128):032x}"] = {
            "id": user_id,
            "email": f"user{n}@example.test",
            "name": f"User {n}",
            "activeWorkspace": f"{rng.getrandbits(96):024x}",
            "status": "ACTIVE",
        }
    return users


USERS = _seeded_users()


def bench_api_key() -> str:
    """A key that the app accepts (the same one in every process)."""
    return next(iter(USERS))


async def get_user(request: Request) -> JSONResponse:
    keys = request.headers.getlist("x-api-key")
    if len(keys) != 1:
        # The real service answers 1000 for none or several credentials.
        body = {"message": "Multiple or none auth tokens present", "code": 1000}
        return JSONResponse(body, status_code=401)
    user = USERS.get(keys[0])
    if user is None:
        body = {"message": "Api key does not exist", "code": 4003}
        return JSONResponse(body, status_code=401)
    return JSONResponse(user)


app = Starlette(routes=[Route("/api/v1/user", get_user, methods=["GET"])])
