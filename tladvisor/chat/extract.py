"""Slot filling from one free-text message with keywords and patterns (no model needed).

"we have about 3k photos of 15 scratch types, it's for a car-parts supplier" ->
{task: image-classification, total: 3000, classes: 15, domain: manufacturing}. The message is first made
readable by `normalise.py` (German / French / Spanish phrases, typos, number words, ranges), so the patterns
here only see English words and plain digits. What they cannot place (a paraphrased task or domain) is left
to `semantic.py`, which compares the message with prototypes using the bundled MiniLM encoder.
Hand-written because no library parses a consultant's sentence into these fields; spaCy-style NER would not
know that "15 scratch types" is a class count or that "must not use anything non-commercial" means commercial.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from tladvisor.advice.brief import _LANGUAGE_ALIASES
from tladvisor.advice.domains import domains
from tladvisor.chat import balance
from tladvisor.chat.backbone_names import mentions
from tladvisor.chat.normalise import digits, english_numbers, normalise

# a count: digits (normalise.py has already turned words, groupings and ranges into plain digits), not a share
_N = r"(?<![\w.])(\d+(?:\.\d+)?)(?!\d|\.\d|\s*%|\s*(?:ms|milliseconds?)\b|\s*-\s*way\b)"
_CLASS_WORDS = (r"(?:classes|class|categories|category|types|labels|intents|kinds|species|topics|tags|grades|"
                r"conditions|entity types|entities|outcomes|varieties|defects|teams|departments|queues|occupations|"
                r"fields|areas|specialties|specialities|phenotypes|breeds|facies|patterns|reasons|diagnoses|levels|"
                r"groups|subjects|genres|weather conditions|sentiments|moods|emotions|clause types|fault types|diseases|"
                r"follow-up categories|severity levels)")
_PER_NOUNS = (r"(?:class|category|type|label|intent|kind|species|defect|product|pattern|fault|field|area|queue|"
              r"breed|specialty|speciality|grade|topic|diagnosis|team|department|occupation|condition|phenotype|"
              r"level|tag|reason|variety|outcome|group|subject|genre|clause type|defect type|one)")
_ITEM_WORDS = (r"(?:photos|photographs|images|pictures|pics|scans|x-rays|radiographs|frames|micrographs|slides|shots|"
               r"texts|emails|e-mails|tickets|documents|docs|reviews|messages|sentences|examples|samples|rows|"
               r"records|notes|contracts|articles|comments|queries|utterances|labelled|labeled|annotated|"
               r"annotations|items|observations|customers|transactions|abstracts|transcripts|letters|postings|"
               r"decisions|papers|invoices|tweets|titles|filings|reports|chats|snippets|calls|claims|posts|"
               r"machines|cases|parts|products|requests|complaints|summaries|descriptions|videos|clips|leaves|sales|"
               r"questions|releases|tiles|masks|radiographs|applications|loans|summaries|clauses)")
# words that end a "<number> ... <class word>" phrase: "60 for most classes" is not 60 classes
_BREAK = r"(?:for|most|all|the|per|each|in|and|with|of|from|to|a|an|across|our|these|those|are|is|has|have|or|" \
         r"than|over|under|about|around|only|just|total)"
_SEP_WORDS = r"(?:[a-z][a-z'-]*\s+)"
_UNITS = (r"(?:second|seconds|minute|minutes|hour|hours|day|days|week|weeks|month|months|year|years|image|item|"
          r"request|call|query|node|gpu|machine|cent|percent)")

_POLARITY = ("positive", "negative", "neutral", "mixed")
_NEGATOR = r"(?:not|no|nothing|never|can'?t|cannot|mustn'?t|must not|shouldn'?t|should not|avoid|without|exclude|" \
           r"don'?t|doesn'?t|won'?t|neither|nor)"

_TASK_STRONG: tuple[tuple[str, str], ...] = (
    ("ner", r"\b(ner|named[- ]entit\w*|entity (?:extraction|recognition)|extract(?:ing)? (?:the )?"
            r"(?:names|entities|fields|drug names|company names)|pull (?:\w+ )?names|entities|entity types|"
            r"tag (?:\w+ ){0,3}(?:with|entities))\b|\b(?:pick out|find|extract|tag|identify|spot|pull out|detect)\b"
            r"[^.]{0,40}\bnames\b|\b(?:extract\w*|tag|pull out|pick out)\s+(?:the\s+)?[a-z]+(?:\s+[a-z]+)?\s*,\s*[a-z]+"
            r"(?:\s+[a-z]+)?(?:\s*,\s*[a-z]+(?:\s+[a-z]+)?)*,?\s+and\s+[a-z]+|\brecogni[sz]\w*\s+(?:the\s+)?(?:people|persons|"
            r"person names|organi[sz]ations|companies|places|locations)\b|"
            r"\b(?:invoice numbers?|dates?|amounts?)\s*,\s*[a-z]+[^.]{0,60}\b(?:extract\w*|pull\w* out)\b"),
    ("sentiment", r"\b(sentiment\w*|positive or negative|negative or positive|opinion mining|star ratings?|"
                  r"positive/negative)\b"),
    ("object-detection", r"\b(object detection|bounding box(?:es)?|boxes|locali[sz]\w*|locate|where in the image)\b|"
                         r"\b(?:detect|find|count|spot)\w*\s+(?:\w+\s+){0,4}?(?:in|on)\s+(?:the\s+|their\s+)?(?:cctv\s+|camera\s+|"
                         r"video\s+|drone\s+)?(?:frames|video|footage|streams?)\b"),
    ("image-segmentation", r"\b(segment(?:ation|ing|s)?|masks?|pixel[- ]level|pixel[- ]wise|outline|pixel by pixel|"
                           r"per pixel)\b"),
    ("tabular-regression", r"\b(regression|predict\w* (?:\w+ ){0,3}(?:price|value|amount|quantity|demand|revenue|"
                           r"cost|yield|tonnes|volume|duration|temperature)s?|forecast\w*|estimate (?:the )?(?:price|value|amount))\b"),
    ("tabular-classification", r"\b(tabular|spreadsheets?|structured data|columns|tabular prediction|churn|crm table|"
                               r"sensor data|loan default|application data)\b"),
    ("text-classification", r"\b(text classification|classify (?:the )?texts?|intent (?:detection|classifier))\b"),
    ("image-classification", r"\b(image classification|visual inspection)\b"),
)
_TASK_WEAK: tuple[tuple[str, str], ...] = (
    ("tabular-classification", r"\b(rows|records of|sensors?|table)\b"),
    ("text-classification", r"\b(texts?|e-?mails?|tickets?|documents?|docs|reviews?|messages?|sentences?|intents?|"
                            r"chats?|support requests?|articles?|notes|contracts?|comments?|tweets?|queries|"
                            r"utterances|abstracts?|transcripts?|letters?|postings?|court decisions|papers|invoices?|questions|"
                            r"press releases|releases|"
                            r"snippets|reports|complaints|requests|sms|filings|descriptions|summaries|titles|"
                            r"product titles|mails|headlines|captions|transcripts)\b"),
    ("image-classification", r"\b(images?|photos?|pictures?|pics|photographs?|cameras?|scans?|x-?rays?|radiographs?|"
                             r"frames?|micrographs?|imagery|slides|shots|ultrasound|fundus|inspection|scratches|dents|cracks|"
                             r"wafer maps?|camera|conveyor|on the belt|on the line|cracked|chipped|scratched|dented|"
                             r"burnt|misshapen|bubbles?)\b"),
)
_YES = r"^\s*(y|yes|yep|yeah|yup|sure|correct|definitely|of course|absolutely|it will|we do|it must|true|ja|oui|sí)\b"
_NO = r"^\s*(n|no|nope|not really|none|never|false|we don'?t|it won'?t|no need|nein|non)\b"
_UNSURE = r"\b(not sure|don'?t know|do not know|unknown|no idea|unsure|not stated|tbd|no clue)\b"


def parse_number(text: str) -> Optional[float]:
    """'3k' -> 3000, '1,200' -> 1200, '2.5 million' -> 2.5e6, 'twelve' -> 12; None when no number.
    The same reading as every message gets (normalise.py), applied to one figure."""
    m = re.match(r"\s*(\d+(?:\.\d+)?)\b", digits(english_numbers(text.strip().lower())))
    return float(m.group(1)) if m else None


@dataclass
class Extraction:
    """Brief fields found in one message; `unsure` lists slots answered with "don't know".

    `task_from_items` is True when the task was only inferred from what the data is ("50k unlabelled
    images"), which must not overwrite a task the user already named; `weak` lists other fields only inferred
    ("porosity vs shrinkage" -> 2 classes, "a PCB maker" -> commercial); `language` is the message's language.
    """

    values: dict[str, Any] = field(default_factory=dict)
    unsure: set[str] = field(default_factory=set)
    weak: set[str] = field(default_factory=set)  # inferred, not stated: never replaces a value already known
    corrects: bool = False  # the message says it corrects something ("actually", "sorry", "update", "not ...")
    task_from_items: bool = False
    language: str = "en"

    def __bool__(self) -> bool:
        return bool(self.values or self.unsure)


def _search(pattern: str, text: str) -> Optional[re.Match]:
    return re.search(pattern, text, flags=re.IGNORECASE)


def _task(t: str) -> tuple[Optional[str], bool]:
    """(task, named outright?) for a normalised message."""
    for task, pattern in _TASK_STRONG:
        if _search(pattern, t):
            return task, True
    if sum(w in t for w in _POLARITY) >= 2:
        return "sentiment", True
    for task, pattern in _TASK_WEAK:
        if _search(pattern, t):
            return task, False
    return None, False


# sectors whose support texts belong to the sector, not to "customer service" (a word like "supplier" that names
# no sector does not outweigh customer service)
SECTORS = ("finance", "legal", "medical", "clinical", "biomedical", "telecom", "retail", "security", "scientific")


def _domain(t: str, asked: bool) -> Optional[str]:
    """The domain whose names and synonyms the text mentions most (weak synonyms count a little)."""
    norm = " " + re.sub(r"[^a-z0-9]+", " ", t.lower()) + " "
    scores: dict[str, float] = {}
    for name, entry in domains().items():
        if name == "general" and not asked:
            continue  # "in general" is not a domain
        for words, weight in (([name], 2.0), (entry.get("synonyms", []), 1.0), (entry.get("weak", []), 0.3)):
            for word in words:
                key = " " + re.sub(r"[^a-z0-9]+", " ", str(word).lower()).strip()
                if key + " " in norm or key + "s " in norm:  # plural: "x-rays"
                    scores[name] = scores.get(name, 0.0) + weight * len(key)
    if not scores:
        return None
    service = scores.get("customer-service", 0.0)
    if service and any(name in SECTORS and score > 0 for name, score in scores.items()) or \
            any(score >= service for name, score in scores.items() if name != "customer-service"):
        # a bank's or an insurer's support emails are the sector's texts: the sector is the domain
        scores.pop("customer-service", None)
    return max(scores, key=lambda k: scores[k])


def _int(value: str) -> Optional[int]:
    """A count, or None for what is not one (0, a fraction, '1111...1' pasted a thousand times)."""
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if 1 <= number <= 1e9 else None


def _cut(text: str, m: re.Match) -> str:
    return text[:m.start()] + " ; " + text[m.end():]


def _named_counts(t: str) -> Optional[tuple[int, int]]:
    """(classes, total) from counts per named class: '60 images of bad and 900 of good', '1000 OK, 35 defect'."""
    label = r"(?:(?:[a-z][a-z'-]*)\s+){0,3}?"
    item = rf"{_N}\s+({label}[a-z][a-z'-]*)"
    run = re.compile(rf"{item}(?:\s*(?:,|&|\band\b|\bplus\b|\bvs\.?|\bversus\b)\s*(?:\band\b\s*)?{item})+")
    bad = re.compile(rf"\b({_CLASS_WORDS}|each|per|every|unlabell?ed|ms|gpus?|%|hours?|minutes?|days?|years?|of them|"
                     rf"of which|of those|of these|the rest|"
                     rf"pixels?|px|columns|features)\b")
    for m in run.finditer(t):
        pairs = re.findall(item, m.group(0))
        if len(pairs) < 2 or bad.search(t[m.start():m.end() + 15]):  # "10k rows, 339 of them failures" is a share
            continue
        counts = [_int(n) for n, _ in pairs]
        if all(counts):
            return len(counts), sum(counts)  # type: ignore[arg-type]
    return None


def _list_count(items: str) -> int:
    parts = [p for p in re.split(r"\s*(?:,|/|\band\b|\bor\b)\s*", items.strip(" .")) if p.strip()]
    return len(parts)


def _volumes(t: str, asked: Optional[str], task: Optional[str], weak: set[str]) -> dict[str, int]:
    """Class count, examples per class and total examples, from numbers next to the words that name them;
    a count only inferred (two named classes) is added to `weak`."""
    out: dict[str, int] = {}
    rest = t.lower()
    # "600 pictures for each of 4 weather conditions"
    m = _search(rf"{_N}\s+{_SEP_WORDS}{{0,3}}?(?:for|in)\s+each\s+of\s+(?:the\s+)?{_N}\s+", rest)
    if m and _int(m.group(1)) and _int(m.group(2)):
        out["per_class"], out["classes"] = _int(m.group(1)), _int(m.group(2))  # type: ignore[assignment]
        rest = _cut(rest, m)
    per_patterns = (
        rf"{_N}\s*(?:(?![a-z]+ed\b(?<!labelled)(?<!labeled)(?<!annotated))[a-z][a-z'-]*\s+){{0,3}}?"
        rf"(?:per|each|for each|for every|every|in each|a|in every)\s+{_PER_NOUNS}\b",
        rf"{_N}\s*(?:{_SEP_WORDS}){{0,3}}?per\s+(?!{_UNITS}\b)[a-z][a-z-]+\b",
        rf"{_N}\s*(?:(?!{_CLASS_WORDS}\b)[a-z][a-z'-]*\s+){{0,3}}?each\b",
        rf"\beach\s+{_N}",
        rf"\b(?:per|each)\s+(?:class|category)\s*:?\s*{_N}",
    )
    if "per_class" not in out:
        for pattern in per_patterns:
            m = _search(pattern, rest)
            if m and _int(m.group(1)) and not _search(r"\binto\s+$", rest[max(0, m.start() - 6):m.start()]):
                out["per_class"] = _int(m.group(1))  # type: ignore[assignment]
                rest = _cut(rest, m)
                break
    named = _named_counts(rest)
    if named and "per_class" not in out:
        out.setdefault("classes", named[0])
        out["total"] = named[1]
    if "classes" not in out:
        m = _search(rf"{_N}\s+(?:(?!{_BREAK}\b)[a-z][a-z'/-]*\s+){{0,2}}?{_CLASS_WORDS}\b", rest) or \
            _search(r"(?<![\w.])(\d+)\s*-\s*way\b", rest) or \
            _search(rf"\b(?:classify|classifying|sort|sorting|route|routing|split|categori[sz]e|group|divide)\b"
                    rf"(?:\s+[a-z][a-z'-]*){{0,5}}?\s+into\s+{_N}\s+[a-z]", rest)
        if m and _int(m.group(1)) and _int(m.group(1)) < 100000:
            out["classes"] = _int(m.group(1))  # type: ignore[assignment]
            if _search(r"\bthe\s+$", rest[max(0, m.start() - 5):m.start()]):
                weak.add("classes")  # "the two classes they argue about most": a subset, not the count
            # "5 defect types plus good tiles": the good class is one more
            if _search(r"^[^.;]{0,12}\b(?:plus|and|as well as|besides|in addition to)\s+(?:the\s+|one\s+for\s+|a\s+)?"
                       r"(?:good|ok|okay|normal|defect[- ]free|non[- ]defective|clean|intact|healthy|no[- ]defect|"
                       r"fine|flawless)\b", rest[m.end():]):
                out["classes"] += 1
            rest = _cut(rest, m)
    if "total" not in out:
        m = _search(rf"{_N}\s+(?:(?!unlabell?ed\b|raw\b|{_CLASS_WORDS}\b|per\b|each\b)[a-z][a-z'-]*\s+){{0,2}}?"
                    rf"{_ITEM_WORDS}\b(?!\s+per\b|\s+each\b)", rest) or \
            _search(rf"{_N}\s+(?:in total|total|overall|altogether|in all)\b", rest) or \
            _search(rf"\b(?:total|overall)\s*(?:of\s*|is\s+(?:now\s+)?|comes to\s+|now\s+)?:?\s*(?:about\s+|around\s+|"
                    rf"roughly\s+)?{_N}", rest)
        if m and _search(r"\beach (?:with |has |have )?(?:roughly |about |around )?$", rest[max(0, m.start() - 25):m.start()]):
            m = None  # "two new intents, each with roughly 15 examples": not the total
        if m and _int(m.group(1)) and not _search(r"unlabell?ed|\braw\b", t[m.end():m.end() + 12]) and \
                not _search(r"\b(?:nobody|no one|not|never|without|annotators?|labell?ers?|people|persons|experts?|"
                            r"raters?|doctors|engineers|pharmacists|radiologists|workers|students)\b", m.group(0)):
            out["total"] = _int(m.group(1))  # type: ignore[assignment]
            rest = _cut(rest, m)
    if "total" not in out and "per_class" not in out:
        # "they have 1,800 field-seasons": a count of whatever the client calls one example
        m = _search(rf"\b(?:have|has|got|there are|with)\s+(?:about\s+|around\s+|roughly\s+|some\s+)?{_N}\s+"
                    rf"(?:labell?ed\s+|annotated\s+|historical\s+|past\s+)?(?!(?:gpus?|cpus?|people|engineers|sites|"
                    rf"hubs|stores|farms|plants|weeks|days|hours|months|years|annotators|labellers|experts|classes|"
                    rf"categories|types|kinds|columns|features|languages|cameras|lines|machines)\b)[a-z][a-z-]+", rest)
        if m and _int(m.group(1)) and _int(m.group(1)) >= 20:
            out["total"] = _int(m.group(1))  # type: ignore[assignment]
    if "classes" not in out and task not in ("ner", "tabular-regression"):
        listed = _search(rf"\b{_CLASS_WORDS}\s*:\s*([a-z][a-z ,/'-]+?)(?:[.;(]|$)", rest)
        if listed and _list_count(listed.group(1)) >= 2:
            out["classes"] = _list_count(listed.group(1))
        elif sum(w in t for w in _POLARITY) >= 2 and task in (None, "sentiment"):
            out["classes"] = sum(w in t for w in _POLARITY)
        elif _search(r"\b(?:as|into)\s+([a-z]+(?:\s*,\s*[a-z]+)+,?\s+(?:or|and)\s+[a-z]+)\b", t):
            # "classified as person, animal or nothing"
            out["classes"] = _list_count(_search(r"\b(?:as|into)\s+([a-z]+(?:\s*,\s*[a-z]+)+,?\s+(?:or|and)\s+[a-z]+)\b",
                                                 t).group(1))
        elif (_search(r"\b(?:vs\.?|versus)\s", t) or _search(r"\b(yes|true)\s*(?:/|or)\s*(no|false)\b", t)
              or _search(r"\b(\w+) or not \1\b", t) or _search(r"\bas\s+[a-z-]+\s+or\s+[a-z-]+\b", t)
              or _search(r"\b(ok|good)\s+(?:or|and|vs)\s+(?:not ok|nok|defect\w*|bad)\b", t)
              or _search(r"\b(?:into|just|either|only)\s+(?:a\s+)?[a-z-]+\s+(?:or|and|vs)\s+(?:a\s+)?[a-z-]+\b(?!\s*,)", t)):
            out["classes"] = 2
            weak.add("classes")  # "porosity vs shrinkage" names two classes; it does not recount them
    if "classes" not in out and task == "ner":
        # "tag brand, size and colour in product titles", "extract drug names and dosages from notes"
        listed = _search(r"\b(?:tag|extract\w*|pull out|pick out|find|recogni[sz]e|identify|spot)\s+(?:the\s+)?"
                         r"([a-z][a-z -]*?(?:\s*,\s*[a-z][a-z -]*?)*,?\s+and\s+[a-z][a-z-]*)\b", rest) or \
            _search(r"\bshould\s+([a-z][a-z -]*?(?:\s*,\s*[a-z][a-z -]*?)*,?\s+and\s+[a-z][a-z-]*)\s+(?:be\s+)?extracted", rest)
        if listed and 2 <= _list_count(listed.group(1)) <= 30:
            out["classes"] = _list_count(listed.group(1))
    if "classes" not in out and task == "ner":
        listed = (_search(r"\b(?:entities|entity types|recognition|ner)\b[^:.]{0,40}:\s*([a-z][a-z ,/'-]+?)(?:[.;]|$)", rest)
                  or _search(r"\bwith\s+([a-z]+(?:\s*,\s*[a-z]+)*,?\s+and\s+[a-z]+)\s+entit", rest)
                  or _search(r"\b([a-z]+(?:\s*,\s*[a-z]+)*,?\s+and\s+[a-z]+)\s+names\b", rest))
        if listed and _list_count(listed.group(1)) >= 2:
            out["classes"] = _list_count(listed.group(1))
    if asked in ("classes", "per_class") and not out:
        m = _search(_N, rest)  # a bare number answers the question just asked
        if m and _int(m.group(1)):
            key = "total" if asked == "per_class" and _search(r"\b(in total|total|overall|altogether)\b", t) else asked
            out[key] = _int(m.group(1))  # type: ignore[assignment]
    if "total" in out and "per_class" in out:
        out.pop("total")  # "200 per class, 3k images": the per-class figure is the one the rules use
    return out


def _difficulty(t: str, asked: bool) -> Optional[str]:
    """How hard the classes are to tell apart, in the brief's three words (looser phrases only when asked)."""
    if _search(r"\b(experts? (?:often |sometimes |can |may |might )?(?:disagree|argue)|even experts|ambiguous (?:labels|"
               r"cases|classes)|graded (?:labels|severity)|severity grades?|borderline cases are common)\b", t) or \
            (asked and _search(r"\b(expert|experts|ambiguous|graded|grades|disagree)\b", t)):
        return "expert"
    if _search(r"\b(subtle|trained eye|fine[- ]grained|look[- ]?alike classes|classes look (?:very )?similar|"
               r"hard to tell apart|close reading)\b", t) or \
            (asked and _search(r"\b(trained|similar|hard|tricky|close|specialist)\b", t)):
        return "subtle"
    if _search(r"\b(obvious(?:ly different)?|easy to tell apart|anyone can tell|clearly different|"
               r"a newcomer (?:can|could))\b", t) or (asked and _search(r"\b(easy|newcomer|clear|simple)\b", t)):
        return "obvious"
    return None


def _label_quality(t: str, asked: bool) -> Optional[str]:
    share = _search(r"(\d+(?:\.\d+)?)\s*%\s+(?:of\s+(?:the\s+)?(?:labels|annotations|grades|tags|choices|\w+ choices)\s+)?"
                    r"(?:are\s+|is\s+)?(?:probably\s+|likely\s+|actually\s+)?(?:wrong|incorrect|mislabell?ed|noisy|errors?|"
                    r"mistakes?|off)\b", t) or \
        _search(r"(\d+)\s*-\s*\d+\s*%\s+of\s+(?:the\s+)?[a-z ]{0,30}?\s+(?:are|is)\s+(?:wrong|incorrect|off)", t)
    if share:
        return "some_noise" if float(share.group(1)) <= 10 else "noisy"
    if _search(r"\b(?:a quarter|a third|half|a fifth|a lot of (?:the )?|many of (?:the )?)\b[^.]{0,40}\b(?:wrong|incorrect|"
               r"mislabell?ed|errors?|actually (?:damaged|defective|wrong|\w+))\b", t):
        return "noisy"
    if _search(r"\b(some noise|some errors|mostly clean|not perfect|decent but|a few percent|mostly (?:right|correct)|a few (?:errors|mistakes)|"
               r"some mistakes|a bit noisy|somewhat noisy|slightly noisy|some (?:labels )?(?:are )?wrong|"
               r"some (?:labels are )?mislabell?ed|here and there|occasional (?:errors|mistakes))\b", t):
        return "some_noise"
    if _search(r"\b(noisy|messy|unreliable|crowd[- ]?sourced|many (?:errors|mistakes)|lots of (?:errors|mistakes)|"
               r"poor(?:ly)? label\w*|bad labels|junior|intern|in a hurry|done quickly|quickly by|keyword match\w*|weak labels)\b", t):
        return "noisy"
    agree = _search(r"(\d+(?:\.\d+)?)\s*%\s+(?:inter-?annotator\s+|inter-?rater\s+)?(?:agreement|of the time)|"
                    r"\bagree\w*\s+(?:on\s+|in\s+)?(?:about\s+|around\s+|roughly\s+)?(\d+(?:\.\d+)?)\s*%", t)
    if agree and _search(r"\b(?:agree\w*|annotators?|labell?ers?|raters?)\b", t):
        value = float(agree.group(1) or agree.group(2))
        return "clean" if value >= 97 else "some_noise" if value >= 85 else "noisy"
    if _search(r"\b(?:labell?ed|annotated|checked|verified|reviewed|tagged|graded|classified|sorted|marked|drawn|"
               r"outlined|masked|boxed|done|confirmed|coded|annotated)\s+"
               r"(?:\w+\s+)?by\s+(?:their\s+|our\s+|the\s+|its\s+|a\s+|an\s+|two\s+|three\s+|several\s+|trained\s+|"
               r"senior\s+|in-house\s+|qualified\s+|certified\s+|own\s+)*(?:[a-z-]+\s+)?(?:team|teams|"
               r"experts?|specialists?|pharmacists?|inspectors?|technicians?|engineers?|doctors?|physicians?|"
               r"nurses?|radiologists?|pathologists?|dermatologists?|lawyers?|paralegals?|agronomists?|analysts?|"
               r"geologists?|accountants?|auditors?|clinicians?|scientists?|professionals?|"
               r"qa|quality control|quality assurance|welders?|metallurgists?|weld inspectors?|coders|clinical coders|"
               r"dermatologists?|paralegals?|attorneys?|underwriters?)\b", t):
        return "clean"
    if _search(r"\b(clean|expert[- ]?(?:labell?ed|checked|annotated|reviewed)|high[- ]quality labels|"
               r"reliable labels|double[- ]checked|verified|carefully|gold|checked|reviewed|(?:are|they'?re|is) "
               r"(?:very |quite |fully )?(?:reliable|accurate|trustworthy|correct)|checked twice)\b", t) or \
            _search(r"\b(?:labell?ed|annotated|graded|checked|verified|reviewed)\s+by\s+(?:our\s+|the\s+|two\s+|"
                    r"several\s+|\w+\s+)?(?:experts?|specialists?|qa|doctors|radiologists|dermatologists|pathologists|"
                    r"engineers|annotators|lawyers|biologists|clinicians)\b", t):
        return "clean"
    if asked and _search(_UNSURE, t):
        return "unknown"
    return None


_BUSINESS = (r"\b(?:an?|the|our|their)\s+(?:[a-z-]+\s+){0,3}(?:maker|makers|manufacturer|manufacturers|company|companies|"
             r"firm|bank|insurer|insurance company|retailer|supplier|chain|start-?up|operator|provider|producer|"
             r"plant|factory|brand|e-?commerce \w+|marketplace|telco|carrier|utility|distributor|wholesaler|"
             r"foundry|mill|refinery|shop|store|agency|law firm|clinic chain|logistics \w+)\b|"
             r"\b(?:their|our) (?:product|customers|clients|production line|line|shop floor|machines)\b")


def _commercial(t: str) -> Optional[bool]:
    # "must not use anything non-commercial" / "nothing should be non-commercial": a commercial project
    if _search(rf"\b{_NEGATOR}\b(?:\s+\w+){{0,4}}\s+non[- ]?commercial", t):
        return True
    if _search(r"\b(non[- ]?commercial|research only|only research|for research|research purposes|academic|"
               r"not (?:for |be |be used )?commercial\w*|no commercial|university project|research project|"
               r"research prototype|internal research|only care about research|not be sold|thesis|phd)\b", t):
        return False
    if _search(r"\b(commercial\w*|we sell|resell|sell it|sell them|paying customers?|paid product|saas|revenue|"
               r"sold to|for[- ]profit|product we sell|can sell|to sell|will sell|selling|ship it|ships it|paying clients?|"
               r"paying users|offer it to|as a (?:paid )?service|bill (?:patients|customers|clients)|"
               r"in their (?:machines|products|devices|app)|licen[cs]e it to|monetis\w+|monetiz\w+)\b", t):
        return True
    return None


def _keep_original(t: str) -> Optional[bool]:
    if _search(rf"\b{_NEGATOR}\b(?:\s+\w+){{0,3}}\s+(?:need to |care about |have to )?(?:keep|retain|preserve)\b|"
               rf"\b(?:don'?t|do not|doesn'?t) care about (?:the |its )?(?:original|old|general)|"
               rf"\bforgetting is (?:fine|ok|okay|acceptable)\b|\bno need to keep\b|"
               rf"\b(?:fine|ok|okay|acceptable|no problem|doesn'?t matter)\b[^.]{{0,20}}\bforget", t):
        return False
    if _search(r"\b(keep (?:its |the |their )?(?:original|general|old|existing)|retain|must not forget|"
               r"not forget|without forgetting|catastrophic forgetting|(?:original|general)[- ]domain skills|"
               r"without losing|can'?t lose|cannot lose|must not lose|still (?:work|recogni[sz]e)|"
               r"keep what it (?:already )?knows|keep the old classes|forget what it)\b", t):
        return True
    return None


def requested_backbones(text: str, language_hint: Optional[str] = None) -> list[str]:
    """Catalogue backbone ids a (question) message asks for: "could we use EfficientNet-B0?"."""
    return _requested_backbones(normalise(text, language_hint)[0])


def _requested_backbones(text: str) -> list[str]:
    """Catalogue backbones the client asks for ("insists on LegalBERT", "could we use EfficientNet-B0",
    "Bio_ClinicalBERT please"); a backbone merely asked about ("is ConvNeXt V2 OK?") is not a request."""
    found = []
    for b, start, end in mentions(text):
        before = text[max(0, start - 60):start].lower()
        after = text[end:end + 12].lower()
        if _search(r"\b(use|using|try|trying|want|wants|wanted|insists?(?: on)?|prefer|prefers|like|go with|"
                   r"based on|asked for|asks for|requires?|requested|choose|pick|stick with)\b[^.?!]*$", before) or \
                re.match(r"\s*,?\s*please\b", after) or re.match(r"^\s*(?:please|pls)\b", text):
            found.append(b.id)
    return list(dict.fromkeys(found))


def _yes_no(t: str) -> Optional[bool]:
    if _search(_NO, t):
        return False
    if _search(_YES, t):
        return True
    return None


def extract(text: str, asked: Optional[str] = None, language_hint: Optional[str] = None,
            known_total: Optional[int] = None) -> Extraction:
    """Every brief field this message states; `asked` is the slot the last question was about, so short
    answers ("12", "yes", "not sure") go to it; `language_hint` is the conversation's language so far;
    `known_total` the labelled total stated earlier ("12% churned" of it)."""
    ex = Extraction()
    v = ex.values
    if not text or not text.strip():
        return ex
    t, ex.language = normalise(text.strip()[:4000], language_hint)  # a pasted essay does not need reading in full
    low = t.lower()
    ex.corrects = bool(_search(r"\b(?:actually|correction|corrected|sorry|update|updated|in fact|instead|i meant|"
                               r"make that|now|turns out|not \d)", low))
    task, named = _task(low)
    if task:
        v["task"] = task
        ex.task_from_items = not named
    domain = _domain(low, asked == "domain")
    if domain:
        v["domain"] = domain
    v.update(_volumes(low, asked, task, ex.weak))
    counts = balance.class_counts(low, v.get("total") or known_total) \
        if task not in ("ner", "tabular-regression", "object-detection", "image-segmentation") else {}
    if counts:
        v["class_counts"] = counts
        if len(counts) == 1 and "smallest class" not in counts and "classes" not in v:
            v["classes"] = 2  # "20k customers, 12% churned": one outcome and the rest
            ex.weak.add("classes")
        if len(counts) >= 2 and "smallest class" not in counts:
            if v.get("classes", len(counts)) <= len(counts) or "classes" in ex.weak:
                v["classes"] = len(counts)
                ex.weak.discard("classes")
            if v.get("classes") == len(counts):
                v["total"] = sum(counts.values())
            v.pop("per_class", None)
    priority = balance.error_priority(low)
    if priority:
        v["error_priority"] = priority
    bar = balance.target(low)
    if bar:
        v["target"] = bar
    quality = _label_quality(low, asked == "label_quality")
    if quality:
        v["label_quality"] = quality
    difficulty = _difficulty(low, asked == "difficulty")
    if difficulty:
        v["difficulty"] = difficulty
    if _search(r"\b(no|without|zero|nothing|not any|don'?t have any|never)\s+(?:\w+\s+)?un-?labell?ed\b|"
               r"\bun-?labell?ed\b[^.]{0,20}\b(?:none|no)\b", low):
        v["unlabelled_data"] = False
    elif _search(r"\bun-?labell?ed\b|\braw (?:images|texts|data)\b|\bun-?annotated\b|\bnobody (?:annotated|labell?ed)\b|"
                 r"\bwithout (?:an? )?(?:outcome|label|annotation|tag)s?\b|\bnot (?:yet )?(?:labell?ed|annotated)\b|"
                 r"\buntagged\b|\bno labels yet\b", low):
        v["unlabelled_data"] = True
    commercial = _commercial(low)
    if commercial is not None:
        v["commercial"] = commercial
    elif _search(_BUSINESS, low):
        v["commercial"] = True  # a manufacturer, bank or retailer using the model is commercial use
        ex.weak.add("commercial")
    latency = _search(r"(\d+(?:\.\d+)?)\s*(?:ms|milliseconds?)\b", low)
    if latency:
        v["latency_ms"] = float(latency.group(1))
    if _search(rf"\b{_NEGATOR}\s+(?:\w+\s+){{0,2}}(?:edge|on[- ]device|mobile|embedded)\b|\bon[- ]?prem\w*|"
               r"\b(?:normal|ordinary|regular|standard|office|desktop)\s+(?:computer|pc|machine|server|workstation)s?\b|"
               r"\b(?:desktop|workstation)s?\b|\bnot on the (?:camera|device|drone|phone)\b|\bon a pc\b|"
               r"\bcontrol room\b|\bnot (?:an? )?(?:embedded|edge)\b|\bin (?:their|the|our) cloud\b", low):
        v["edge"] = False  # "on premise on a normal computer, not an edge device"
    elif _search(r"\bon the cameras? (?:themselves|itself)\b|\barm box\w*|\bno cloud\b|\boffline\b|"
                 r"\b(edge|on[- ]device|mobile|phones?|smartphones?|embedded|raspberry|jetson|microcontroller|"
               r"smart camera|in the field|offline device|edge box|on the device)\b", low):
        v["edge"] = True
    elif _search(r"\b(server|servers|cloud|data ?cent(?:er|re)|backend|hosted)\b", low):
        v["edge"] = False
    if _search(r"\b(several|multiple|many|two|three|four|eight|couple of|\d+)\s+(?:\w+\s+)?gpus?\b|\bgpu cluster\b|"
               r"\bmulti[- ]gpu\b|\b(?:rtx ?\d{4}|a100|h100|v100|a10g?|l4|t4)s\b|\bcluster\b", low):
        v["compute"] = "multi_gpu"
    elif _search(r"\b(cpu only|only (?:a )?cpus?|no gpus?|without (?:a )?gpu|laptops?|cpus?)\b", low):
        v["compute"] = "cpu"
    elif _search(r"\b(gpu|t4|a10g?|a100|h100|h200|l4|v100|rtx ?\d*|colab)\b", low):
        v["compute"] = "single_gpu"
    keep = _keep_original(low)
    if keep is not None:
        v["keep_original"] = keep
    # "an English model like DistilBERT" names a model's language, not the data's
    lang = _search(r"(?<!\ban )(?<!\ba )\b(" + "|".join(_LANGUAGE_ALIASES) + r")\b(?![- ](?:only )?(?:model|bert|encoder|"
                   r"version|one|models)\b)", low)
    if lang:
        v["language"] = _LANGUAGE_ALIASES[lang.group(1).lower()]
    backbones = _requested_backbones(t)
    if backbones:
        v["preferred_backbones"] = backbones

    if asked == "error_priority" and "error_priority" not in v:
        # a short answer to "which mistake costs more?"
        if _search(r"\b(?:missing|a miss|misses|miss one|recall|never miss)\b", low):
            v["error_priority"] = "recall"
        elif _search(r"\b(?:false alarms?|false positives?|precision|few alarms)\b", low):
            v["error_priority"] = "precision"
        elif _search(r"\b(?:both|same|equal\w*|balanced|either)\b", low):
            v["error_priority"] = "balanced"
    # short answers to the question just asked: "yes", "no", "not sure"
    if asked and not v:  # "No, it's 20 classes" corrects classes; it does not answer a yes/no
        if asked in ("commercial", "unlabelled_data", "keep_original", "edge"):
            if asked == "commercial" and _search(_UNSURE, low):
                ex.unsure.add("commercial")
            else:
                answer = _yes_no(low)
                if answer is not None:
                    v[asked] = answer
        elif _search(_UNSURE + r"|^\s*maybe\s*$", low) and asked not in ("task",):
            ex.unsure.add(asked)
    elif asked in ("keep_original", "unlabelled_data", "commercial") and asked not in v:
        answer = _yes_no(low)  # "yes, tons of it", "yes, without losing the old ones"
        if answer is not None:
            v[asked] = answer
    return ex
