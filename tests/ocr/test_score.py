"""Edit distance and character accuracy against hand-computed pairs and a brute-force reference."""

import functools

from hypothesis import given
from hypothesis import strategies as st

from nnlab.ocr.score import character_accuracy, edit_distance


def _reference(a: str, b: str) -> int:
    """Levenshtein distance by its recursive definition (independent of the table version)."""

    @functools.cache
    def d(i: int, j: int) -> int:
        if i == 0 or j == 0:
            return i + j
        return min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] != b[j - 1]))

    return d(len(a), len(b))


def test_known_pairs():
    assert edit_distance("KITTEN", "SITTING") == 3
    assert edit_distance("FLAW", "LAWN") == 2
    assert edit_distance("", "ABC") == 3
    assert edit_distance("ABC", "") == 3
    assert edit_distance("SAME", "SAME") == 0
    assert edit_distance("AB", "BA") == 2  # no transpositions in Levenshtein's distance


@given(st.text("ABC", max_size=8), st.text("ABC", max_size=8))
def test_matches_the_recursive_definition(a, b):
    assert edit_distance(a, b) == _reference(a, b) == edit_distance(b, a)


def test_character_accuracy_ignores_spaces_and_line_breaks():
    assert character_accuracy("TO DO\nLIST", "TODO LIST") == 1.0
    # truth "HELLOWORLD" (10 characters), one substitution and one deletion -> 1 - 2/10
    assert character_accuracy("HELL0 WRLD", "HELLO WORLD") == 0.8
    assert character_accuracy("", "") == 1.0
    assert character_accuracy("A", "") == 0.0
    assert character_accuracy("", "AB") == 0.0
    # many extra characters: distance 8 > 2 truth characters, floored at 0 rather than negative
    assert character_accuracy("ABXXXXXXXX", "AB") == 0.0
