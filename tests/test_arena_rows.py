"""Arena battles built straight into store rows give the very row the models give."""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest

from palate.io import arena
from palate.io.arena_rows import BattleRows
from palate.io.rows import RowError
from palate.schema import Source
from palate.store.store import record_values

JUDGES = [
    Source(kind="human", name="battles"),
    Source(kind="judge", name="gpt-4o", version="2024-08-06"),
    Source(kind="human", name="é😀\u2028"),
]

# Values whose canonical JSON is easy to get wrong: float spelling, integer range, key order
# (code points, not UTF-16 units: "\uff61" sorts before "😀" only by code point), escapes.
AWKWARD: list[Any] = [
    1e21,
    -0.0,
    5e-324,
    1.5,
    1e-7,
    123456789012345680.0,
    2**63 - 1,
    2**64 - 1,
    -(2**63),
    0,
    True,
    False,
    None,
    "",
    "\x00\x01\x1f\x7f",
    'tab\tnewline\n"quote"\\',
    "\u2028\u2029",
    "😀 surrogate pair",
    "e\u0301 and é",
    "\uff61",
    [],
    [1, [2, [3, {"z": 1, "a": 2}]]],
    {},
    {"\uff61": 1, "😀": 2, "a": 3, "A": 4, "é": 5, "": 6},
]
KEYS = ["num", "turn", "judge", "tstamp", "\uff61", "😀", "é", "a\x01b", "", "Z", "metadata"]
QUESTIONS: list[Any] = ["q1", "", " ", "😀", 7, -0.0, 1e21, True, [1, "a"], {"b": 1}, 0]
MODELS = ["model-a", "gpt-4", "😀", " x ", "a\nb", "\uff61"]


def battles(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        row: dict[str, Any] = {
            "model_a": rng.choice(MODELS),
            "model_b": rng.choice(MODELS),
            "winner": rng.choice(list(arena.WINNERS)),
            "question_id": rng.choice(QUESTIONS),
        }
        for key in rng.sample(KEYS, rng.randrange(len(KEYS))):
            row[key] = rng.choice(AWKWARD)
        rows.append(row)
    return rows


def parsed(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The row as each of the importer's JSON readers hands it over (JSON Lines: orjson;
    a JSON array: the standard library)."""
    text = json.dumps(row, ensure_ascii=False)
    return [orjson.loads(text.encode()), json.loads(text)]


@pytest.mark.parametrize("judge", JUDGES, ids=lambda j: j.name)
def test_battle_rows_equal_the_models_rows_byte_for_byte(judge: Source) -> None:
    build = BattleRows(judge)
    built = 0
    for battle in battles(400):
        for row in parsed(battle):
            expected = record_values(arena.from_row(row, judge))
            fast = build(row)
            assert fast is not None, row
            assert fast == expected, row
            assert [type(v) for v in fast] == [type(v) for v in expected]
            built += 1
    assert built == 800


@pytest.mark.parametrize(
    "change",
    [
        {"model_a": None},
        {"model_b": ""},
        {"model_a": "   "},
        {"model_b": 3},
        {"winner": "model_c"},
        {"winner": ["tie"]},
        {"question_id": None},
    ],
)
def test_rows_the_models_reject_are_left_to_them(change: dict[str, Any]) -> None:
    row = {"model_a": "a", "model_b": "b", "winner": "tie", "question_id": "q", **change}
    assert BattleRows(JUDGES[0])(row) is None
    with pytest.raises(RowError):
        arena.from_row(row, JUDGES[0])


def test_without_the_missing_field_the_row_is_left_to_the_models() -> None:
    row = {"model_a": "a", "model_b": "b", "winner": "tie"}
    assert BattleRows(JUDGES[0])(row) is None


@pytest.mark.parametrize("value", ["[18446744073709551616]", '"\\ud800"'])
def test_values_orjson_cannot_write_are_left_to_the_models(value: str) -> None:
    # Only the standard library's reader (JSON arrays) lets these through.
    row = {"model_a": "a", "model_b": "b", "winner": "tie", "question_id": "q"}
    row["extra"] = json.loads(value)
    assert BattleRows(JUDGES[0])(row) is None
