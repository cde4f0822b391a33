"""Class balance and what matters to the client, from one (normalised) message.

"3,000 photos of good boards but only 40 with defects" -> {'good': 3000, 'defect': 40};
"20k customers, about 12% churned" -> {'churned': 2400} (the brief adds the rest as 'other');
"the smallest category has only 150" -> {'smallest class': 150};
"never miss a defect" -> 'recall:defect'; "false alarms are expensive" -> 'precision';
"we must catch at least 95% of cracks" -> target 0.95.
Hand-written for the same reason as extract.py: no parser maps a consultant's sentence onto these fields.
The text arrives normalised (normalise.py): lower case, plain digits, English words.
"""
from __future__ import annotations

import re
from typing import Optional

_NUM = r"(?<![\w.])(\d+(?:\.\d+)?)(?![\d.])"
# words between a count and the class it names, and generic nouns that are the object, not the class
_FILLER = {"of", "with", "showing", "show", "that", "which", "are", "were", "is", "have", "has", "had", "labelled",
           "labeled", "marked", "tagged", "as", "the", "them", "those", "these", "only", "just", "about", "around",
           "roughly", "some", "a", "an", "being", "been", "flagged", "classified", "real", "actual", "in", "at",
           "images", "image", "photos", "photo", "pictures", "picture", "pics", "scans", "scan", "shots", "frames",
           "examples", "samples", "rows", "records", "texts", "emails", "e-mails", "tickets", "messages",
           "documents", "reviews", "cases", "items", "ones", "one", "x-rays", "radiographs", "customers",
           "transactions", "calls", "claims", "entries", "instances", "labelled", "annotated"}
_OBJECTS = {"boards", "board", "tiles", "tile", "parts", "part", "pieces", "piece", "products", "product", "units",
            "unit", "welds", "weld", "bottles", "bottle", "cells", "cell", "wafers", "wafer", "panels", "panel",
            "castings", "casting", "components", "component", "pcbs", "pcb", "chips", "chip", "sheets", "sheet",
            "samples", "machines", "machine", "accounts", "account", "loans", "loan", "users", "patients",
            "tablets", "pills", "bags", "cans", "boxes", "fabrics", "fabric", "leaves", "leaf", "fruits", "fruit",
            "ones", "one", "images", "photos", "tickets", "emails", "texts", "rows", "cases", "items"}
_NOT_A_CLASS = re.compile(
    r"^(?:classes|class|categories|category|types|type|labels|label|kinds|each|per|every|unlabell?ed|raw|ms|gpus?|"
    r"hours?|minutes?|days?|weeks?|months?|years?|pixels?|px|columns?|features?|epochs?|percent|total|overall|"
    r"in|more|less|new|other|others|different|distinct|defect types|fault types|intents|topics|entity|entities|"
    r"sentences|words|tokens|mb|gb|k|x|times|people|annotators|labellers|experts|sites|cameras|lines|plants|"
    r"languages|euros?|dollars?|usd|eur)$")


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _class_name(words: list[str]) -> Optional[str]:
    """The class a phrase after a count names: '... of good boards' -> 'good', 'with defects' -> 'defect'."""
    kept: list[str] = []
    for w in words:
        w = w.strip(".,;:!?()'\"")
        if not w:
            break
        if w in ("and", "but", "vs", "versus", "plus", "while", "whereas", "or", "so", "for", "per", "each",
                 "from", "to", "than", "out"):
            break
        if not kept and w in _FILLER:
            continue
        if not re.fullmatch(r"[a-z][a-z'-]*", w):
            break
        kept.append(w)
        if len(kept) == 2:
            break
    if len(kept) == 2 and kept[1] in _OBJECTS:
        kept = kept[:1]  # 'good boards' -> 'good'
    if len(kept) == 2 and kept[0] in ("with", "without"):
        kept = kept[1:]
    if not kept or kept[0] in _OBJECTS and len(kept) == 1:
        return None
    name = " ".join(kept) if len(kept) == 2 and kept[0] in ("not", "no", "non") else kept[0]
    if kept[0] in ("with", "without") or _NOT_A_CLASS.match(name) or kept[0] in _FILLER:
        return None
    return _singular(name) if " " not in name else name


def class_counts(t: str, total: Optional[int] = None) -> dict[str, int]:
    """Counts per named class a message gives ('' when it gives none, or only one count without a rare-class cue).

    `total` is the message's (or the conversation's) total, used for shares ('12% churned') and for
    'N of them are defective'."""
    out: dict[str, int] = {}
    rare_cue = False
    m = re.search(rf"\b(?:smallest|rarest|least common|tiniest)\s+(?:class|category|type|group|one|label)?\s*"
                  rf"(?:has|with|is|at|:)?\s*(?:only\s+|just\s+|about\s+|around\s+)?{_NUM}(?!\s*%)", t) or \
        re.search(rf"{_NUM}\s+(?:\w+\s+)?(?:in|for)\s+the\s+(?:smallest|rarest)\s+(?:class|category|one)", t)
    if m:
        return {"smallest class": int(float(m.group(1)))}
    share = re.search(rf"{_NUM}\s*%\s+(?:of\s+(?:them|those|the\s+\w+|all\s+\w+)\s+)?(?:are\s+|were\s+|have\s+|is\s+|"
                      rf"got\s+|did\s+)?([a-z][a-z'-]+)", t)
    if share and total and float(share.group(1)) < 50:
        name = _class_name([share.group(2)])
        if name:
            return {name: max(1, round(total * float(share.group(1)) / 100))}
    for m in re.finditer(_NUM + r"(?!\s*%)", t):
        value = float(m.group(1))
        if value < 1 or value != int(value):
            continue
        before = t[max(0, m.start() - 12):m.start()]
        after = t[m.end():m.end() + 60]
        if re.match(r"\s*(?:%|ms|px|x\b|k\b|gb|mb|euros?|dollars?|per\b|each\b|classes|categories|types)", after) \
                or re.search(r"(?:€|\$|£)\s*$", before):
            continue
        of_them = re.match(r"\s+of\s+(?:them|those|these|which|whom)\s+(?:are\s+|were\s+|have\s+|show\s+|is\s+)?(.*)",
                           after)
        words = (of_them.group(1) if of_them else after).split()
        name = _class_name(words[:6])
        if not name:
            continue
        if of_them or re.search(r"\b(?:only|just|but)\s+$", before):
            rare_cue = True
        if name in out:
            continue
        out[name] = int(value)
        if of_them and total and len(out) == 1 and total > value:
            rare_cue = True
    if len(out) >= 2:
        return out
    if len(out) == 1 and rare_cue and total and total > next(iter(out.values())):
        return out  # '3k photos, only 40 of them cracked': the brief adds the rest
    return {}


_MISS = r"(?:miss|missing|missed|overlook\w*|let\w* through|slip\w* through)"
_ALARM = r"(?:false alarms?|false positives?|false flags?|wrongly flagged|flagging good|flag(?:ging)? a good)"


def error_priority(t: str) -> Optional[str]:
    """'recall:<word>', 'recall', 'precision:<word>', 'precision' or 'balanced' when the message says which
    mistake costs more; None when it does not."""
    if re.search(r"\b(?:both (?:mistakes|errors|kinds of (?:mistakes|errors))|either mistake|each mistake)\b[^.]{0,30}"
                 r"\b(?:same|equal\w*|as bad)\b|\bequally (?:bad|costly|expensive)\b", t):
        return "balanced"
    cheap = r"(?:is|are|'s)?\s*(?:fine|ok|okay|acceptable|cheap|no problem|not a problem|tolerable|not a big deal)"
    costly = r"(?:expensive|costly|a disaster|unacceptable|bad|dangerous|critical|terrible|very bad|the worst|painful)"
    if re.search(rf"{_ALARM}\s+(?:{cheap}|(?:just|only)\s+costs?|(?:are|is)\s+(?:just|only))|"
                 rf"\b(?:better safe than sorry|rather (?:have|flag|check) (?:a few )?too many)\b", t):
        word = _missed_word(t)
        return f"recall:{word}" if word else "recall"
    if re.search(rf"{_ALARM}\s+(?:are|is|would be|cost\w*)?\s*(?:very |really |too |more )?{costly}|"
                 rf"\btoo many {_ALARM}|\b(?:only|must only) (?:flag|alert|raise)\w* (?:when|if) (?:sure|certain)|"
                 rf"\bprecision (?:matters|is (?:key|what|more))|"
                 rf"\b(?:must|should) not (?:flag|reject|stop)\w* (?:good|healthy|normal|genuine)", t):
        m = re.search(r"\bflag\w* (?:as )?(?:a |an )?([a-z]+)", t)
        return "precision"
    caught = re.search(r"\b(?:catch|find|detect|flag)\w*\s+(?:at least\s+)?\d+(?:\.\d+)?\s*%\s+of\s+(?:the\s+|all\s+)?"
                       r"([a-z][a-z-]+)", t)
    if caught:
        return f"recall:{_singular(caught.group(1))}"
    if re.search(rf"\b(?:never|not|must not|mustn'?t|can'?t afford to|cannot afford to|don'?t want to|do not want to|"
                 rf"should not|shouldn'?t|zero)\s+(?:\w+\s+)?{_MISS}\b|"
                 rf"\b{_MISS}\s+(?:a |an |one |any |the )?(?:\w+\s+){{0,2}}(?:is|are|would be|costs?|means)\s+"
                 rf"(?:very |really |far more |more |too |extremely )?(?:{costly}|much)|"
                 rf"\bcatch(?:ing)? (?:every|all|each|as many)\b|\brecall (?:matters|is (?:key|what|more))|"
                 rf"\b(?:find|detect|catch) (?:every|all) (?:single )?(?:one|\w+)", t):
        word = _missed_word(t)
        return f"recall:{word}" if word else "recall"
    return None


def _missed_word(t: str) -> Optional[str]:
    """The thing not to miss: 'never miss a defect' -> 'defect'; 'missing an urgent ticket' -> 'urgent'."""
    m = re.search(rf"\b{_MISS}\s+(?:a |an |one |any |the |single )?(?:single )?([a-z][a-z-]+)(?:\s+([a-z][a-z-]+))?", t) or \
        re.search(r"\bcatch(?:ing)? (?:every|all|each|as many) (?:single )?(?:of the )?([a-z][a-z-]+)(?:\s+([a-z][a-z-]+))?", t)
    if not m:
        return None
    first, second = m.group(1), m.group(2)
    if first in ("one", "of", "out", "it", "them", "anything", "something", "thing", "case", "cases"):
        return None
    if second and second in _OBJECTS | {"ticket", "tickets", "email", "emails", "case", "cases", "transaction",
                                        "transactions", "claim", "claims", "message", "messages", "call"}:
        return _singular(first)  # 'urgent ticket' -> 'urgent'
    return _singular(first) if first not in _FILLER else None


def target(t: str) -> Optional[float]:
    """The client's own bar: 'at least 95%', 'must catch 99% of defects', 'needs 90% recall' -> 0.95 / 0.99 / 0.9."""
    m = re.search(r"\b(?:at least|minimum of|min(?:imum)?|no less than|need(?:s|ed)?|require[sd]?|want(?:s|ed)?|"
                  r"must (?:reach|hit|get|catch|find|detect|have)|has to (?:reach|catch|find)|target(?:ing)? (?:of )?|"
                  r"catch(?:es)?|find(?:s)?|detect(?:s)?)\s+(?:at least\s+|about\s+|around\s+)?(\d+(?:\.\d+)?)\s*%", t)
    if not m:
        return None
    value = float(m.group(1)) / 100
    return value if 0.5 <= value <= 1 else None


def price(t: str) -> Optional[tuple[float, str]]:
    """(price per hour, currency) when the message states a compute price: '2 euros an hour', '$3/h'."""
    cur = {"€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "$": "USD", "usd": "USD", "dollar": "USD",
           "dollars": "USD", "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "chf": "CHF",
           "francs": "CHF"}
    per = r"\s*(?:an|a|per|/)\s*(?:hour|hr|h)\b"
    m = re.search(rf"(€|\$|£)\s*(\d+(?:\.\d+)?){per}", t)
    if m:
        return float(m.group(2)), cur[m.group(1)]
    m = re.search(rf"(\d+(?:\.\d+)?)\s*(€|\$|£|eur|euros?|usd|dollars?|gbp|pounds?|chf|francs){per}", t)
    if m:
        return float(m.group(1)), cur[m.group(2)]
    return None
