"""Acceptance test of the README's example: behaviour any reasonable reading agrees on.

Words are compared in lowercase; the texts use plain words and spaces (and one comma and
full stop, which no reading counts as part of a word), so that what a "word" is never
decides the outcome.
"""

from wordfreq import top_words


def test_most_frequent_first_with_counts() -> None:
    assert top_words("b a b c b a", 2) == [("b", 3), ("a", 2)]


def test_lowercase() -> None:
    assert top_words("Apple apple APPLE pear", 1) == [("apple", 3)]


def test_ties_broken_alphabetically() -> None:
    assert top_words("dog cat bird cat dog bird", 3) == [("bird", 2), ("cat", 2), ("dog", 2)]


def test_fewer_distinct_words_than_n() -> None:
    assert top_words("one two one", 5) == [("one", 2), ("two", 1)]


def test_n_zero_and_empty_text() -> None:
    assert top_words("a b", 0) == []
    assert top_words("", 3) == []


def test_pairs_are_word_and_count() -> None:
    (pair,) = top_words("x y x", 1)
    assert tuple(pair) == ("x", 2)


def test_punctuation_is_not_part_of_a_word() -> None:
    assert top_words("Hello, hello world. World hello", 2) == [("hello", 3), ("world", 2)]
