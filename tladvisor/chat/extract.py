"""Slot filling from one free-text message with keywords and patterns (no model needed).

"we have about 3k photos of 15 scratch types, it's for a car-parts supplier" ->
{task: image-classification, total: 3000, classes: 15, domain: manufacturing}. What patterns cannot
place (a paraphrased task or domain) is left to `semantic.py`, which compares the message with
prototypes using the bundled MiniLM encoder. Hand-written because no library parses a consultant's
sentence into these fields; spaCy-style NER would not know "15 scratch types" is a class count.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from tladvisor.advice.brief import _LANGUAGE_ALIASES
from tladvisor.advice.domains import domains

_WORD_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
                 "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
                 "hundred": 100, "a hundred": 100, "a thousand": 1000, "a dozen": 12, "dozen": 12}
_NUM = r"(\d[\d,]*(?:\.\d+)?\s*(?:k|m|thousand|million)?\b|" + "|".join(
    sorted(map(re.escape, _WORD_NUMBERS), key=len, reverse=True)) + r")"
_CLASS_WORDS = (r"(?:classes|class|categories|category|types|labels|intents|kinds|species|topics|tags|grades|conditions|"
                r"entity types|entities|classes of|outcomes|varieties|defects)")
_ITEM_WORDS = (r"(?:photos|images|pictures|scans|x-rays|radiographs|frames|micrographs|texts|emails|e-mails|"
               r"tickets|documents|docs|reviews|messages|sentences|examples|samples|rows|records|notes|"
               r"contracts|articles|comments|queries|utterances|labelled|labeled|annotated|annotations|"
               r"items|observations|customers|transactions)")
_PER_CLASS_WORDS = r"(?:per|a|each|for each|every)\s+(?:class|category|type|label|intent|kind|species|defect)"


def parse_number(text: str) -> Optional[float]:
    """'3k' -> 3000, '1,200' -> 1200, '2.5 million' -> 2.5e6, 'twelve' -> 12; None when no number."""
    t = text.strip().lower()
    if t in _WORD_NUMBERS:
        return float(_WORD_NUMBERS[t])
    m = re.match(r"(\d[\d,]*(?:\.\d+)?)\s*(k|m|thousand|million)?", t)
    if not m:
        return None
    digits = m.group(1).replace(",", "")
    try:
        value = float(digits)
    except ValueError:
        return None
    scale = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}.get(m.group(2) or "", 1.0)
    return value * scale


@dataclass
class Extraction:
    """Brief fields found in one message; `unsure` lists slots answered with "don't know"."""

    values: dict[str, Any] = field(default_factory=dict)
    unsure: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.values or self.unsure)


_TASK_PATTERNS: tuple[tuple[str, str], ...] = (
    ("ner", r"\b(ner|named[- ]entit\w*|entity extraction|extract(?:ing)? (?:the )?(?:names|entities|fields)|"
            r"entities|entity types)\b"),
    ("sentiment", r"\b(sentiment|positive or negative|negative or positive|opinion mining)\b"),
    ("object-detection", r"\b(object detection|bounding box(?:es)?|boxes|locali[sz]\w*|locate|where in the image)\b"),
    ("image-segmentation", r"\b(segment\w*|masks?|pixel[- ]level|pixel[- ]wise)\b"),
    ("tabular-regression", r"\b(regression|predict (?:a |the )?(?:price|value|amount|quantity|demand)|"
                           r"forecast\w*|estimate (?:the )?(?:price|value|amount))\b"),
    ("tabular-classification", r"\b(tabular|spreadsheets?|structured data|columns|tabular prediction|churn)\b"),
    ("text-classification", r"\b(text classification|texts?|e-?mails?|tickets?|documents?|reviews?|messages?|"
                            r"sentences?|intents?|chats?|support requests?|articles?|notes|contracts?|comments?|"
                            r"tweets?|queries|utterances)\b"),
    ("image-classification", r"\b(image classification|images?|photos?|pictures?|photographs?|cameras?|scans?|"
                             r"x-?rays?|radiographs?|frames?|micrographs?|imagery|visual inspection)\b"),
)
_YES = r"^\s*(y|yes|yep|yeah|yup|sure|correct|definitely|of course|absolutely|it will|we do|it must|true)\b"
_NO = r"^\s*(n|no|nope|not really|none|never|false|we don'?t|it won'?t|no need)\b"
_UNSURE = r"\b(not sure|don'?t know|do not know|unknown|no idea|unsure|maybe|not stated|tbd)\b"


def _search(pattern: str, text: str) -> Optional[re.Match]:
    return re.search(pattern, text, flags=re.IGNORECASE)


def _task(text: str) -> Optional[str]:
    for task, pattern in _TASK_PATTERNS:
        if _search(pattern, text):
            return task
    return None


def _domain(text: str, asked: bool) -> Optional[str]:
    """The domain whose name or synonym appears in the text (longest match wins)."""
    norm = " " + re.sub(r"[^a-z0-9]+", " ", text.lower()) + " "
    best, best_len = None, 0
    for name, entry in domains().items():
        if name == "general" and not asked:
            continue  # "in general" is not a domain
        for word in [name, *entry.get("synonyms", [])]:
            key = " " + re.sub(r"[^a-z0-9]+", " ", word.lower()).strip()
            if (key + " " in norm or key + "s " in norm) and len(key) > best_len:  # plural: "x-rays"
                best, best_len = name, len(key)
    return best


def _volumes(text: str, asked: Optional[str]) -> dict[str, int]:
    """Class count, examples per class and total examples, from numbers next to the words that name them."""
    out: dict[str, int] = {}
    rest = text.lower()
    m = _search(_NUM + r"\s*(?:\+\s*)?(?:[a-z-]+\s+){0,2}?" + _PER_CLASS_WORDS, rest) or _search(
        _NUM + r"\s*(?:[a-z-]+\s+){0,1}?each\b", rest)
    if m and parse_number(m.group(1)):
        out["per_class"] = int(parse_number(m.group(1)))
        rest = rest[:m.start()] + " " + rest[m.end():]
    m = _search(_NUM + r"\s+(?:[a-z-]+\s+){0,2}?" + _CLASS_WORDS + r"\b", rest)
    if m and parse_number(m.group(1)):
        out["classes"] = int(parse_number(m.group(1)))
        rest = rest[:m.start()] + " " + rest[m.end():]
    m = _search(_NUM + r"\s*(?:\+\s*)?(?:[a-z-]+\s+){0,2}?" + _ITEM_WORDS + r"\b", rest)
    if m and parse_number(m.group(1)):
        out["total"] = int(parse_number(m.group(1)))
        rest = rest[:m.start()] + " " + rest[m.end():]
    if asked in ("classes", "per_class") and not out:
        m = _search(_NUM, rest)  # a bare number answers the question just asked
        if m and parse_number(m.group(1)):
            out[asked] = int(parse_number(m.group(1)))
    if "total" in out and "per_class" in out:
        out.pop("total")  # "200 per class, 3k images": the per-class figure is the one the rules use
    return out


def _label_quality(text: str, asked: bool) -> Optional[str]:
    if _search(r"\b(some noise|some errors|mostly clean|mostly (?:right|correct)|a few (?:errors|mistakes)|"
               r"some mistakes|a bit noisy|somewhat noisy)\b", text):
        return "some_noise"
    if _search(r"\b(noisy|messy|unreliable|crowd[- ]?sourced|many (?:errors|mistakes)|lots of (?:errors|mistakes)|"
               r"poor(?:ly)? label\w*|bad labels)\b", text):
        return "noisy"
    if _search(r"\b(clean|expert[- ]?(?:labell?ed|checked|annotated|reviewed)|high[- ]quality labels|"
               r"reliable labels|double[- ]checked|verified labels|gold)\b", text):
        return "clean"
    if asked and _search(_UNSURE, text):
        return "unknown"
    return None


def _yes_no(text: str) -> Optional[bool]:
    if _search(_NO, text):
        return False
    if _search(_YES, text):
        return True
    return None


def extract(text: str, asked: Optional[str] = None) -> Extraction:
    """Every brief field this message states; `asked` is the slot the last question was about, so short
    answers ("12", "yes", "not sure") go to it."""
    ex = Extraction()
    v = ex.values
    t = text.strip()
    if not t:
        return ex
    task = _task(t)
    if task:
        v["task"] = task
    domain = _domain(t, asked == "domain")
    if domain:
        v["domain"] = domain
    v.update(_volumes(t, asked))
    quality = _label_quality(t, asked == "label_quality")
    if quality:
        v["label_quality"] = quality
    if _search(r"\b(no|without|zero) (?:\w+ )?un-?labell?ed\b", t):
        v["unlabelled_data"] = False
    elif _search(r"\bun-?labell?ed\b|\braw (?:images|texts|data)\b", t):
        v["unlabelled_data"] = True
    if _search(r"\b(non[- ]?commercial|research only|research purposes|academic|not commercial\w*|"
               r"no commercial)\b", t):
        v["commercial"] = False
    elif _search(r"\b(commercial\w*|we sell|paying customers|saas|revenue)\b", t):
        v["commercial"] = True
    latency = _search(r"(\d+(?:\.\d+)?)\s*(?:ms|milliseconds?)\b", t)
    if latency:
        v["latency_ms"] = float(latency.group(1))
    if _search(r"\b(edge|on[- ]device|mobile|phones?|embedded|raspberry|jetson|microcontroller|smart camera|"
               r"in the field|offline device)\b", t):
        v["edge"] = True
    elif _search(r"\b(server|cloud|data ?cent(?:er|re)|backend|hosted)\b", t):
        v["edge"] = False
    if _search(r"\b(several|multiple|many|two|four|eight|\d+)\s+gpus\b|\bgpu cluster\b|\bmulti[- ]gpu\b", t):
        v["compute"] = "multi_gpu"
    elif _search(r"\b(cpu only|only (?:a )?cpus?|no gpus?|without (?:a )?gpu|laptop|cpus?)\b", t):
        v["compute"] = "cpu"
    elif _search(r"\b(gpu|t4|a10g?|a100|h100|h200|l4|v100|rtx ?\d*)\b", t):
        v["compute"] = "single_gpu"
    if _search(r"\b(keep (?:its |the )?(?:original|general)|retain|must not forget|without forgetting|"
               r"catastrophic forgetting|(?:original|general)[- ]domain skills)\b", t):
        v["keep_original"] = True
    lang = _search(r"\b(" + "|".join(_LANGUAGE_ALIASES) + r")\b", t)
    if lang:
        v["language"] = _LANGUAGE_ALIASES[lang.group(1).lower()]

    # short answers to the question just asked: "yes", "no", "not sure"
    if asked and not v:  # "No, it's 20 classes" corrects classes; it does not answer a yes/no
        if asked in ("commercial", "unlabelled_data", "keep_original", "edge"):
            if asked == "commercial" and _search(_UNSURE, t):
                ex.unsure.add("commercial")
            else:
                answer = _yes_no(t)
                if answer is not None:
                    v[asked] = answer
        elif _search(_UNSURE, t) and asked not in ("task",):
            ex.unsure.add(asked)
    return ex
