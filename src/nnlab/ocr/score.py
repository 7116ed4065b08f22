"""How well a page was read: edit distance and character accuracy against the ground truth.

Character accuracy = 1 - (Levenshtein distance / characters in the truth), both texts taken
without whitespace: spaces and line breaks are layout, not characters of NIST36's 36 classes,
and a missed space should not count as a misread letter. It is floored at 0 (reading many
extra characters can make the distance exceed the truth's length).
"""


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions from a to b.

    Parameters
    ----------
    a, b : str

    Returns
    -------
    int
        0 when equal; at most max(len(a), len(b)).
    """
    if len(a) < len(b):
        a, b = b, a
    # one row of the dynamic-programming table at a time: row[j] = distance(a[:i], b[:j])
    row = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, char_b in enumerate(b, 1):
            diagonal, row[j] = (
                row[j],
                min(
                    row[j] + 1,  # delete char_a
                    row[j - 1] + 1,  # insert char_b
                    diagonal + (char_a != char_b),  # substitute (free when equal)
                ),
            )
    return row[-1]


def character_accuracy(read: str, truth: str) -> float:
    """1 - edit distance / length of the truth, whitespace ignored, floored at 0.

    Parameters
    ----------
    read : str
        The text read.
    truth : str
        The ground truth.

    Returns
    -------
    float
        In [0, 1]; 1.0 when both are empty.
    """
    read, truth = "".join(read.split()), "".join(truth.split())
    if not truth:
        return 1.0 if not read else 0.0
    return max(0.0, 1 - edit_distance(read, truth) / len(truth))
