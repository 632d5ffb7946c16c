"""Reading request bodies field by field, with errors that name the field."""

from __future__ import annotations

import re
from typing import Any

from simulator.clock import parse_iso
from simulator.errors import BadRequest

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def invalid(field: str, detail: str) -> BadRequest:
    return BadRequest(f"You entered invalid value for field: [{field}]. {detail}")


def text(
    body: dict[str, Any],
    field: str,
    *,
    required: bool = False,
    max_length: int = 250,
    default: str | None = None,
) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise invalid(field, "This field can't be empty.")
        return default
    if not isinstance(value, str):
        raise invalid(field, "Expected a string.")
    if required and not value.strip():
        raise invalid(field, "This field can't be empty.")
    if len(value) > max_length:
        raise invalid(field, f"Length must be at most {max_length}.")
    return value


def flag(body: dict[str, Any], field: str, default: bool = False) -> bool:
    value = body.get(field)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(field, "Expected true or false.")
    return value


def color(body: dict[str, Any], field: str = "color", default: str = "#03A9F4") -> str:
    value = body.get(field)
    if value is None:
        return default
    if not isinstance(value, str) or not COLOR.match(value):
        raise invalid(field, "Expected a color like #RRGGBB.")
    return value


def instant(
    body: dict[str, Any], field: str, *, required: bool = False
) -> float | None:
    value = body.get(field)
    if value is None:
        if required:
            raise invalid(field, "This field can't be empty.")
        return None
    if not isinstance(value, str):
        raise invalid(field, "Expected a date-time like 2026-01-01T09:00:00Z.")
    try:
        return parse_iso(value)
    except ValueError:
        raise invalid(
            field, f"{value!r} is not a date-time like 2026-01-01T09:00:00Z."
        ) from None


def id_list(body: dict[str, Any], field: str) -> list[str]:
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(field, "Expected a list of ids.")
    return list(dict.fromkeys(value))


def optional_id(body: dict[str, Any], field: str) -> str | None:
    """An optional reference: absent, null or "" mean none; anything but a string is refused."""
    value = body.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(field, "Expected an id.")
    return value


def rate(
    body: dict[str, Any], field: str, currency: str = "USD"
) -> dict[str, Any] | None:
    value = body.get(field)
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("amount"), int)
        or isinstance(value.get("amount"), bool)
    ):
        raise invalid(field, 'Expected {"amount": <integer cents>}.')
    if value["amount"] < 0:
        raise invalid(field, "The amount can't be negative.")
    return {"amount": value["amount"], "currency": value.get("currency") or currency}


def choice(
    body: dict[str, Any], field: str, options: tuple[str, ...], default: str
) -> str:
    value = body.get(field, default)
    if value not in options:
        raise invalid(field, f"Expected one of {', '.join(options)}.")
    return str(value)
