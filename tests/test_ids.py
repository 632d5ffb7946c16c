"""Ids and keys: the shape the real service uses, growth over time, one seed, one result."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from simulator.ids import (
    KEY_ALPHABET,
    IdGenerator,
    derive_seed,
    is_object_id,
    run_seed,
)
from simulator.sqlite import SqliteFile

AT = 1_780_000_000.0


def test_object_id_is_24_lowercase_hex() -> None:
    ids = IdGenerator(1)

    value = ids.object_id(AT)

    assert len(value) == 24
    assert value == value.lower()
    assert int(value, 16) >= 0
    assert is_object_id(value)


def test_object_id_starts_with_its_creation_time() -> None:
    ids = IdGenerator(1)

    value = ids.object_id(AT)

    assert int(value[:8], 16) == int(AT)


def test_object_ids_grow_over_time() -> None:
    ids = IdGenerator(1)

    values = [ids.object_id(AT + second) for second in range(0, 600, 7)]

    assert values == sorted(values)
    assert len(set(values)) == len(values)


def test_object_ids_of_one_second_grow_in_creation_order() -> None:
    ids = IdGenerator(1)

    values = [ids.object_id(AT) for _ in range(20)]

    assert values == sorted(values)


@pytest.mark.parametrize(
    "value",
    ["NOT-AN-ID", "6889F35DA108FB656D000001", "6889f35da108fb656d00000", "", "z" * 24],
    ids=["words", "upper-case", "23-chars", "empty", "not-hex"],
)
def test_is_object_id_rejects_other_shapes(value: str) -> None:
    assert not is_object_id(value)


def test_api_key_is_48_letters_and_digits() -> None:
    ids = IdGenerator(1)

    key = ids.api_key()

    assert len(key) == 48
    assert set(key) <= set(KEY_ALPHABET)


def test_generator_gives_the_same_ids_and_keys_for_the_same_seed() -> None:
    first, second = IdGenerator("seed-7"), IdGenerator("seed-7")

    made_first = [
        first.object_id(AT),
        first.api_key(),
        first.token(),
        first.object_id(AT),
    ]
    made_second = [
        second.object_id(AT),
        second.api_key(),
        second.token(),
        second.object_id(AT),
    ]

    assert made_first == made_second


def test_generator_gives_other_ids_for_another_seed() -> None:
    first, second = IdGenerator(1), IdGenerator(2)

    assert first.object_id(AT) != second.object_id(AT)
    assert first.api_key() != second.api_key()


def test_generator_forks_are_deterministic_and_independent() -> None:
    parent_a, parent_b = IdGenerator(1), IdGenerator(1)

    fork_a, fork_b = parent_a.fork("euc1"), parent_b.fork("euc1")
    other = IdGenerator(1).fork("use2")

    assert fork_a.object_id(AT) == fork_b.object_id(AT)
    assert fork_a.api_key() != other.api_key()


def test_derive_seed_is_the_same_in_every_process() -> None:
    script = (
        "from simulator.ids import IdGenerator, derive_seed\n"
        "print(derive_seed('ids', 1), IdGenerator(1).object_id(1780000000.0))"
    )
    outputs = set()

    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        outputs.add(done.stdout.strip())

    assert outputs == {f"{derive_seed('ids', 1)} {IdGenerator(1).object_id(AT)}"}


def test_generator_gives_unique_ids_across_threads() -> None:
    ids = IdGenerator(1)
    made: list[list[str]] = [[] for _ in range(8)]

    def work(bucket: list[str]) -> None:
        bucket.extend(ids.object_id(AT) for _ in range(2000))

    threads = [threading.Thread(target=work, args=(b,)) for b in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    flat = [value for bucket in made for value in bucket]
    assert len(set(flat)) == 8 * 2000


def test_run_seed_is_the_plain_seed_on_a_first_start() -> None:
    assert run_seed(7, "euc1", "runtime") == "7:euc1:runtime"
    assert run_seed(7, "euc1", "runtime", start=2) == "7:euc1:runtime:start2"


def test_generators_of_later_starts_make_other_ids_in_the_same_second() -> None:
    first = IdGenerator(run_seed(7, "accounts"))
    again = IdGenerator(run_seed(7, "accounts"))
    later = IdGenerator(run_seed(7, "accounts", start=1))

    made = [first.object_id(1_800_000_000) for _ in range(3)]

    assert made == [again.object_id(1_800_000_000) for _ in range(3)]
    assert not set(made) & {later.object_id(1_800_000_000) for _ in range(3)}
    assert first.api_key() != later.api_key()


def test_a_file_counts_the_starts_of_its_service(tmp_path: Path) -> None:
    counts = []
    for _ in range(3):
        store = SqliteFile(tmp_path / "x.sqlite", [])
        counts.append(store.count_start())
        store.close()

    assert counts == [0, 1, 2]
