import re


def split_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def split_sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])", text)
    return [p.strip() for p in parts if p.strip()]
