from stats import average_word_length, sentence_count, top_words, word_count
from words import split_sentences, split_words


def test_split_words_example():
    assert split_words("It's 2 o'clock, Bob!") == ["it's", "2", "o'clock", "bob"]


def test_split_words_separators_and_case():
    words = ["hello", "world", "hello", "again", "42x"]
    assert split_words("Hello,world--HELLO\tagain\n42x") == words
    assert split_words("") == []
    assert split_words(" ... !!! ") == []


def test_split_sentences_example():
    assert split_sentences("Hi. How are you?  Fine") == ["Hi.", "How are you?", "Fine"]


def test_split_sentences_edges():
    assert split_sentences("") == []
    assert split_sentences("   ") == []
    assert split_sentences("Stop! Go.") == ["Stop!", "Go."]
    assert split_sentences("no punctuation at all") == ["no punctuation at all"]


def test_counts():
    text = "The cat sat. The dog sat too! Why?"
    assert word_count(text) == 8
    assert sentence_count(text) == 3
    assert word_count("") == 0
    assert sentence_count("") == 0


def test_average_word_length():
    assert average_word_length("a bb ccc") == 2.0
    assert average_word_length("ab abc") == 2.5
    assert average_word_length("one two three") == 3.67
    assert average_word_length("?!") == 0.0


def test_top_words_orders_by_count_then_alphabetically():
    text = "b a c b a d b"
    assert top_words(text, 2) == [("b", 3), ("a", 2)]
    assert top_words(text, 4) == [("b", 3), ("a", 2), ("c", 1), ("d", 1)]


def test_top_words_fewer_than_n_and_case():
    assert top_words("Dog dog CAT", 5) == [("dog", 2), ("cat", 1)]
    assert top_words("", 3) == []
