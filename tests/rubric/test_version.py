"""Versions: RFC 8785 canonical JSON, stable under formatting, sensitive to content."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import rfc8785
import yaml

from palate.rubric import example_rubric_path, load_rubric, rubric_canonical_bytes, rubric_version


def test_rfc8785_published_examples() -> None:
    """RFC 8785 section 3.2.3 (sorting by UTF-16 code units) and Appendix B (numbers)."""
    names = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "o With Diaeresis",
    }
    keys = dict(sorted(names.items()))  # code point order, which differs from UTF-16 order
    order = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert list(keys) != order
    decoded = json.loads(rfc8785.dumps(keys))
    assert list(decoded) == order  # U+1F600 is D83D DE00 in UTF-16: before U+FB33
    numbers = {
        333333333.33333329: b"333333333.3333333",
        1e30: b"1e+30",
        4.50: b"4.5",
        2e-3: b"0.002",
        1e-7: b"1e-7",
        1e21: b"1e+21",
        -0.0: b"0",
        9007199254740992.0: b"9007199254740992",
    }
    for value, text in numbers.items():
        assert rfc8785.dumps(value) == text
    sample = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": '€$\u000f\nA\'B"\\\\"/',
        "literals": [None, True, False],
    }
    assert rfc8785.dumps(sample) == (
        b'{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        b'"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )


def test_version_is_sha256_of_canonical_json() -> None:
    rubric = load_rubric(example_rubric_path("moon-poems"))
    body = rubric_canonical_bytes(rubric)
    assert rubric_version(rubric) == hashlib.sha256(body).hexdigest()
    data = json.loads(body)
    assert list(data) == sorted(data)
    assert body == rfc8785.dumps(data)  # re-canonicalising changes nothing


def test_version_ignores_formatting_and_follows_content(tmp_path: Path) -> None:
    source = example_rubric_path("moon-poems")
    rubric = load_rubric(source)
    data = yaml.safe_load(source.read_text())

    def reversed_keys(value: object) -> object:
        if isinstance(value, dict):
            return {k: reversed_keys(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reversed_keys(v) for v in value]
        return value

    variants = {
        "reordered.yaml": yaml.safe_dump(reversed_keys(data), sort_keys=False, indent=4),
        "commented.yaml": "# a comment\n\n"
        + source.read_text()
        .replace("  - name:", "  # next\n\n  - name:   ")
        .replace("dimensions:\n", "dimensions:    # the aspects\n"),
        "plain.json": json.dumps(data, indent=2),
        "int-weight.yaml": yaml.safe_dump(data).replace("weight: 1.0", "weight: 1"),
    }
    for name, text in variants.items():
        path = tmp_path / name
        path.write_text(text)
        assert rubric_version(load_rubric(path)) == rubric_version(rubric), name

    edits = [
        ("weight: 0.75", "weight: 0.8"),
        ("Prose chopped into lines", "Prose cut into lines"),
        ("name: no_turn", "name: no-turn"),
    ]
    seen = {rubric_version(rubric)}
    for old, new in edits:
        text = source.read_text()
        assert old in text
        path = tmp_path / "edited.yaml"
        path.write_text(
            text.replace(old, new)
            .replace("[cliche, forced_rhyme, no_turn]", "[cliche, forced_rhyme]")
            .replace("[keyword_stuffing, padding, no_turn]", "[padding]")
        )
        seen.add(rubric_version(load_rubric(path)))
    assert len(seen) == 1 + len(edits)
