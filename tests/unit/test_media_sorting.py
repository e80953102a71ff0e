"""Frame order: CVAT's sorting methods."""

from __future__ import annotations

import random

import pytest

from backend.media.sorting import SortingError, sort_names

NAMES = ["2.jpeg", "10.jpeg", "1.jpeg"]


def test_lexicographical_compares_text() -> None:
    assert sort_names(NAMES, "lexicographical") == ["1.jpeg", "10.jpeg", "2.jpeg"]


def test_natural_compares_digit_runs_as_numbers() -> None:
    assert sort_names(NAMES, "natural") == ["1.jpeg", "2.jpeg", "10.jpeg"]
    names = ["img10b.png", "img2.png", "IMG2.png", "img10a.png", "a/img3.png"]
    assert sort_names(names, "natural") == [
        "a/img3.png", "IMG2.png", "img2.png", "img10a.png", "img10b.png",
    ]  # fmt: skip


def test_predefined_keeps_the_upload_order_without_an_explicit_one() -> None:
    assert sort_names(NAMES, "predefined") == NAMES


def test_predefined_follows_upload_file_order() -> None:
    order = ["10.jpeg", "1.jpeg", "2.jpeg"]
    assert sort_names(NAMES, "predefined", predefined=order) == order


@pytest.mark.parametrize(
    "order", [["1.jpeg", "2.jpeg"], ["1.jpeg", "2.jpeg", "10.jpeg", "x.jpeg"], ["1.jpeg"] * 3]
)
def test_predefined_order_must_list_exactly_the_uploaded_files(order: list[str]) -> None:
    with pytest.raises(SortingError):
        sort_names(NAMES, "predefined", predefined=order)


def test_random_is_a_permutation() -> None:
    names = [f"{i}.png" for i in range(50)]
    shuffled = sort_names(names, "random", rng=random.Random(3))
    assert sorted(shuffled) == sorted(names) and shuffled != names
