from collections import Counter

from words import split_sentences, split_words


def word_count(text: str) -> int:
    return len(split_words(text))


def sentence_count(text: str) -> int:
    return len(split_sentences(text))


def average_word_length(text: str) -> float:
    words = split_words(text)
    if not words:
        return 0.0
    return round(sum(len(w) for w in words) / len(words), 2)


def top_words(text: str, n: int) -> list[tuple[str, int]]:
    counts = Counter(split_words(text))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
