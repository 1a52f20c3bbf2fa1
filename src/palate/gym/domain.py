"""The moon-poem domain: a vocabulary of lines, poems as short sequences of them, and the
features that tastes and judges read.

A token is a whole line, written by hand with what a reader notices in it: whether it names
the moon (and how often), whether its image is fresh or stock, its end rhyme, whether it has a
sound pattern (alliteration, assonance), and whether it turns the poem. Whole lines keep every
poem the policy writes readable, while sequences of up to ``MAX_LINES`` of ``len(LINES)`` lines
give tens of billions of poems with a real spread from doggerel to something a reader keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

PROMPT = "Write a short poem about the moon."
MAX_LINES = 8


class Image(Enum):
    """What kind of picture a line paints."""

    STOCK = "stock"  # the cliché a thousand poems have used
    FRESH = "fresh"  # a specific, surprising image
    PLAIN = "plain"  # a statement or connective line, no image to speak of


@dataclass(frozen=True)
class Line:
    """One line of verse, with the facts about it that readers and judges react to."""

    text: str
    image: Image
    moons: int = 0  # times the word "moon" (or moonlight) appears
    rhyme: str = ""  # end-rhyme class; lines with the same class rhyme
    sound: bool = False  # a deliberate sound pattern
    turn: bool = False  # a volta: a shift in feeling or perspective


LINES: tuple[Line, ...] = (
    # stock moon lines: what a checkbox judge loves
    Line("the moon is shining bright", Image.STOCK, 1, "ight"),
    Line("the silver moon at night", Image.STOCK, 1, "ight"),
    Line("the moon, a lantern of light", Image.STOCK, 1, "ight"),
    Line("oh moon, so round and white", Image.STOCK, 1, "ight"),
    Line("the moon, the moon, so bright", Image.STOCK, 2, "ight"),
    Line("the moon up in the sky", Image.STOCK, 1, "y"),
    Line("the moon that floats so high", Image.STOCK, 1, "y"),
    Line("the moon will never die", Image.STOCK, 1, "y"),
    Line("beneath the silver moon", Image.STOCK, 1, "oon"),
    Line("a lovely moon in June", Image.STOCK, 1, "oon"),
    Line("I love the moon, the moon", Image.STOCK, 2, "oon"),
    Line("the moon, the moon, the moon", Image.STOCK, 3, "oon"),
    Line("moonlight on the sea", Image.STOCK, 1, "ee"),
    Line("the moon is shining down on me", Image.STOCK, 1, "ee"),
    # stock lines without the moon
    Line("the stars are shining too", Image.STOCK, 0, "oo"),
    Line("the night is dark and blue", Image.STOCK, 0, "oo"),
    Line("my heart is full of light", Image.STOCK, 0, "ight"),
    Line("a dream that takes to flight", Image.STOCK, 0, "ight"),
    Line("the stars up in the sky", Image.STOCK, 0, "y"),
    Line("a silver orb on high", Image.STOCK, 0, "y"),
    # fresh images
    Line("a thumbnail paring left on the sill", Image.FRESH),
    Line("the tide keeps its slow ledger", Image.FRESH, sound=True),
    Line("one coin at the bottom of the well", Image.FRESH),
    Line("frost counting the fence posts", Image.FRESH, sound=True),
    Line("the dog's breath, a small white ghost", Image.FRESH),
    Line("salt light on the kitchen tiles", Image.FRESH, sound=True),
    Line("a hole someone cut in the dark", Image.FRESH),
    Line("my mother's plate, chipped at the rim", Image.FRESH),
    Line("the moon, a thumbprint on the window", Image.FRESH, 1),
    Line("a pale hook for the heron's hunger", Image.FRESH, sound=True),
    Line("it borrows the sun's old face", Image.FRESH),
    Line("the field holds its breath", Image.FRESH),
    # sound without much of a picture
    Line("the hush of hollow hills", Image.PLAIN, sound=True),
    Line("silver sifting through the sycamores", Image.PLAIN, sound=True),
    Line("white as a washed bone", Image.PLAIN, sound=True),
    # turns
    Line("but you are not here to see it", Image.PLAIN, turn=True),
    Line("yet the window stays unlatched", Image.PLAIN, turn=True),
    Line("but nobody looks up anymore", Image.PLAIN, turn=True),
    Line("still, I set out two cups", Image.PLAIN, turn=True),
    Line("and I forget whose face it was", Image.PLAIN, turn=True),
    # filler
    Line("it is late", Image.PLAIN),
    Line("the road goes on", Image.PLAIN),
    Line("I stand here in the yard", Image.PLAIN),
    Line("the trees are quiet", Image.PLAIN),
    Line("the clouds go by", Image.PLAIN),
)

N_LINES = len(LINES)
EOS = N_LINES  # the token that ends a poem
BOS = N_LINES + 1  # the policy's start symbol (input only, never sampled)
VOCAB = N_LINES + 2
_BY_TEXT = {line.text: i for i, line in enumerate(LINES)}

Poem = tuple[int, ...]


def render(poem: Poem) -> str:
    """The poem's text: one line per token, the first capitalised."""
    lines = [LINES[t].text for t in poem]
    if lines:
        lines[0] = lines[0][0].upper() + lines[0][1:]
    return "\n".join(lines)


def parse(text: str) -> Poem:
    """The tokens of a rendered poem (judges read text, as real judges do); ValueError if a
    line is not in the vocabulary."""
    tokens = []
    for number, raw in enumerate(text.split("\n"), start=1):
        token = _BY_TEXT.get(raw, _BY_TEXT.get(raw[:1].lower() + raw[1:]))
        if token is None:
            raise ValueError(f"line {number} is not in the moon-poem vocabulary: {raw!r}")
        tokens.append(token)
    return tuple(tokens)


# --- features ------------------------------------------------------------------------------

FEATURES = (
    "lines",
    "moons",
    "rhymes",
    "stock",
    "fresh",
    "sound",
    "turn",
    "repeats",
)


def features(poem: Poem) -> npt.NDArray[np.float64]:
    """What a reader can count in a poem, in the order of ``FEATURES``.

    ``rhymes``: lines whose end rhymes with an earlier line's; ``fresh``: distinct fresh
    images; ``sound``: distinct lines with a sound pattern; ``turn``: 1 if a turn comes after
    at least one image; ``repeats``: lines that repeat an earlier line verbatim.
    """
    seen: set[int] = set()
    rhymes_seen: set[str] = set()
    moons = rhymes = stock = fresh = sound = repeats = 0
    turn = 0
    images_before = 0
    for t in poem:
        line = LINES[t]
        moons += line.moons
        if line.rhyme:
            rhymes += line.rhyme in rhymes_seen
            rhymes_seen.add(line.rhyme)
        if t in seen:
            repeats += 1
            continue
        seen.add(t)
        stock += line.image is Image.STOCK
        fresh += line.image is Image.FRESH
        sound += line.sound
        if line.turn and images_before:
            turn = 1
        images_before += line.image is not Image.PLAIN
    return np.array([len(poem), moons, rhymes, stock, fresh, sound, turn, repeats], dtype=float)


def feature_matrix(poems: Sequence[Poem]) -> npt.NDArray[np.float64]:
    """``features`` for many poems, one row each."""
    if not poems:
        return np.zeros((0, len(FEATURES)))
    return np.stack([features(p) for p in poems])
