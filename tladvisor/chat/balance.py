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

_NUM = r"(?<![\w.])(\d+(?:\.\d+)?)(?!\d|\.\d)"
# words between a count and the class it names, and generic nouns that are the object, not the class
_FILLER = {"of", "with", "showing", "show", "that", "which", "are", "were", "is", "have", "has", "had", "labelled",
           "labeled", "marked", "tagged", "as", "the", "them", "those", "these", "only", "just", "about", "around",
           "roughly", "some", "a", "an", "being", "been", "flagged", "classified", "real", "actual", "in", "at",
           "images", "image", "photos", "photo", "pictures", "picture", "pics", "scans", "scan", "shots", "frames",
           "examples", "samples", "rows", "records", "texts", "emails", "e-mails", "tickets", "messages",
           "documents", "reviews", "cases", "items", "ones", "one", "x-rays", "radiographs", "customers",
           "transactions", "calls", "claims", "entries", "instances", "labelled", "annotated", "older", "newer",
           "new", "old", "more", "extra", "additional", "previous", "recent", "last", "questions", "question",
           "things", "points", "issues", "times", "people", "sites", "hubs", "stores", "shops", "plants", "farms",
           "hospitals", "clinics", "branches", "countries", "languages", "years", "months", "weeks", "days"}
_OBJECTS = {"boards", "board", "tiles", "tile", "parts", "part", "pieces", "piece", "products", "product", "units",
            "unit", "welds", "weld", "bottles", "bottle", "cells", "cell", "wafers", "wafer", "panels", "panel",
            "castings", "casting", "components", "component", "pcbs", "pcb", "chips", "chip", "sheets", "sheet",
            "samples", "machines", "machine", "accounts", "account", "loans", "loan", "users", "patients",
            "tablets", "pills", "bags", "cans", "boxes", "fabrics", "fabric", "leaves", "leaf", "fruits", "fruit",
            "ones", "one", "images", "photos", "tickets", "emails", "texts", "rows", "cases", "items", "grains",
            "grain", "beans", "bean", "nuts", "nut", "caps", "cap", "seams", "seam", "loaves", "loaf", "reviews",
            "reports", "transactions", "seams"}
_NOT_A_CLASS = re.compile(
    r"^(?:classes|class|categories|category|types|type|labels|label|kinds|each|per|every|unlabell?ed|raw|ms|gpus?|"
    r"hours?|minutes?|days?|weeks?|months?|years?|pixels?|px|columns?|features?|epochs?|percent|total|overall|"
    r"in|more|less|new|other|others|different|distinct|defect types|fault types|intents|topics|entity|entities|"
    r"sentences|words|tokens|mb|gb|k|x|times|people|annotators|labellers|experts|sites|cameras|lines|plants|"
    r"languages|euros?|dollars?|usd|eur|their|they|them|our|we|us|it|its|his|her|you|your|this|that|these|those)$")


_UNITS = {"h", "hr", "hrs", "ms", "km", "kg", "px", "gb", "mb", "tb", "cm", "mm", "kb", "min", "sec", "pm", "am"}


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _class_name(words: list[str]) -> Optional[str]:
    """The class a phrase after a count names: '... of good boards' -> 'good', 'with defects' -> 'defect'."""
    kept: list[str] = []
    for raw in words:
        w = raw.strip(".,;:!?()'\"")
        if not w:
            break
        if not kept and w in _FILLER and raw.endswith((".", "!", "?", ";")):
            break  # "two questions. Their IT says ...": the sentence ended before any class was named
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
    elif len(kept) == 2 and kept[0] in _OBJECTS:
        kept = kept[1:]  # 'grains defective' (French order) -> 'defective'
    if len(kept) == 2 and kept[0] in ("with", "without"):
        kept = kept[1:]
    if not kept or kept[0] in _OBJECTS and len(kept) == 1:
        return None
    name = " ".join(kept) if len(kept) == 2 and kept[0] in ("not", "no", "non") else kept[0]
    if kept[0] in ("with", "without") or _NOT_A_CLASS.match(name) or kept[0] in _FILLER or len(kept[0]) < 2 or kept[0] in _UNITS:
        return None
    return _singular(name) if " " not in name else name


# a number whose next few words say it counts classes, or examples per class / in total, not one class's examples
_COUNTS_SOMETHING_ELSE = (
    r"\s+(?:[a-z'-]+\s+){0,3}?(?:classes|class|categories|category|types|type|kinds|levels|grades|areas|fields|"
    r"reasons|phenotypes|facies|departments|occupations|intents|topics|labels|groups|patterns|diseases|"
    r"per|each|in total|total|overall|altogether|across|labell?ed|annotated)\b|\s+(?:[a-z'-]+\s+){0,3}?"
    r"(?:abstracts|slides|transcripts|papers|decisions|invoices|postings|examples|samples|images|photos|texts|"
    r"documents|reviews|tweets|emails|rows|records)\s+(?:per|each|in total|total|overall)\b")


def class_counts(t: str, total: Optional[int] = None) -> dict[str, int]:
    """Counts per named class a message gives ('' when it gives none, or only one count without a rare-class cue).

    `total` is the message's (or the conversation's) total, used for shares ('12% churned') and for
    'N of them are defective'."""
    cues: list[bool] = []
    m = re.search(rf"\b(?:smallest|rarest|least common|tiniest)\b[^.;]{{0,50}}?(?:\b(?:has|with|is|at)\b|:)\s*"
                  rf"(?:only\s+|just\s+|about\s+|around\s+)?{_NUM}(?!\s*%)", t) or \
        re.search(rf"\b(?:smallest|rarest|least common|tiniest)\s+(?:class|category|type|group|one|label)?\s*"
                  rf"(?:has|with|is|at|:)?\s*(?:only\s+|just\s+|about\s+|around\s+|~\s*)?{_NUM}(?!\s*%)", t) or \
        re.search(rf"{_NUM}\s+(?:\w+\s+)?(?:in|for)\s+the\s+(?:smallest|rarest)\s+(?:class|category|one)", t)
    if m and float(m.group(1)) <= 1e9:
        return {"smallest class": int(float(m.group(1)))}
    ratio = re.search(r"\b(\d+)\s+(?:in|out of|of every)\s+(\d+)\s+(?:\w+\s+){0,2}?(?:are|is|were|was|turned out to be|"
                      r"turn out to be|end up|ended up|get|got)?\s*(?:to be\s+)?([a-z][a-z'-]+)", t)
    if ratio and total and 0 < int(ratio.group(1)) < int(ratio.group(2)):
        name = _class_name([ratio.group(3)])
        if name:
            return {name: max(1, round(total * int(ratio.group(1)) / int(ratio.group(2))))}
    share = re.search(rf"{_NUM}\s*%\s+(?:of\s+(?:them|those|the\s+\w+|all\s+\w+)\s+)?(?:are\s+|were\s+|have\s+|is\s+|"
                      rf"got\s+|did\s+)?([a-z][a-z'-]+)", t)
    if share and total and float(share.group(1)) < 50:
        name = _class_name([share.group(2)])
        if name:
            return {name: max(1, round(total * float(share.group(1)) / 100))}
    numbers = re.search(rf"\b(?:the\s+)?([a-z]+)\s+(?:have|has|are|with)\s+((?:\d+\s*,\s*)+\d+,?\s+and\s+\d+)\b", t)
    if numbers:  # "the defects have 200, 150, 120, 90 and 45 images"
        values = [int(x) for x in re.findall(r"\d+", numbers.group(2))]
        word = _singular(numbers.group(1))
        out = {f"{word} {i}": v for i, v in enumerate(values, 1)}
        rest = t[:numbers.start()] + " ; " + t[numbers.end():]
        for name, count in _named(rest).items():  # "4,000 good tiles; the defects have ...": the good class
            out.setdefault(name, count)
        return out
    rest_of = re.search(r"\bthe rest (?:are |is )?(?:of them )?(?:are |is )?([a-z][a-z'-]+)", t)
    if rest_of and total:  # "300 person, 900 animal, the rest nothing"
        named = _named(t[:rest_of.start()])
        if named and total > sum(named.values()):
            return {**named, _singular(rest_of.group(1)): total - sum(named.values())}
    listed = re.findall(r"(?:^|[:,;.]|\band\b)\s*([a-z][a-z' -]{0,30}?)\s*[:=]?\s*(\d+)(?=\s*(?:,|;|\.|$|\band\b|\())", t)
    pairs = [(re.sub(r"^(?:counts?|classes|and|the|with|of)\s+", "", n).strip(), int(c)) for n, c in listed]
    pairs = [(n, c) for n, c in pairs if n and n not in ("total", "about", "only", "in total", "overall") and
             not re.search(r"\b(?:have|has|are|is|we|they|rows|images|photos|per|each|classes|categories|set|"
                           r"labelled|labeled|annotated)\b", n)]
    if len(pairs) >= 2:
        return dict(pairs)
    out = _named(t, cues)
    if len(out) >= 2:
        return out
    if len(out) == 1 and cues and total and total > next(iter(out.values())):
        return out  # '3k photos, only 40 of them cracked': the brief adds the rest
    return {}


def _named(t: str, cues: Optional[list[bool]] = None) -> dict[str, int]:
    """Every '<count> <class>' in the text ('3000 photos of good boards', 'only 40 with defects'); `cues`
    collects whether one of them was marked as the rare one ('only', 'of them')."""
    out: dict[str, int] = {}
    for m in re.finditer(_NUM + r"(?!\s*%)", t):
        value = float(m.group(1))
        if value < 1 or value > 1e9 or value != int(value):
            continue
        if re.match(_COUNTS_SOMETHING_ELSE, t[m.end():m.end() + 50]):
            continue  # "5 disease areas", "400 abstracts per class", "1500 across 3 departments"
        before = t[max(0, m.start() - 12):m.start()]
        after = t[m.end():m.end() + 60]
        if re.match(r"\s*(?:%|ms|px|x\b|k\b|gb|mb|euros?|dollars?|per\b|each\b|classes|categories|types)", after) \
                or re.search(r"(?:€|\$|£)\s*$", before):
            continue
        if re.match(r"\s+(?:[a-z'-]+\s+){0,3}?(?:[a-z'-]+\s*,\s*)?(?:unlabell?ed|unannotated|without (?:labels|annotations)|"
                    r"nobody|no one|not labell?ed)", after):
            continue  # "200,000 older complaints, unlabelled" is the unlabelled pool, not a class
        of_them = re.match(r"\s+of\s+(?:them|those|these|which|whom)\s+(?:are\s+|were\s+|have\s+|show\s+|is\s+)?(.*)",
                           after)
        words = (of_them.group(1) if of_them else after).split()
        name = _class_name(words[:6])
        if not name:
            continue
        if (of_them or re.search(r"\b(?:only|just|but)\s+$", before)) and cues is not None:
            cues.append(True)
        if name not in out:
            out[name] = int(value)
    return out


_MISS = (r"(?:miss|missing|missed|misses|overlook\w*|under-?mark\w*|under-?detect\w*|slip\w* through|slipping through|gets? through|getting through|"
         r"let\w* through|undetected|not detect\w*|fail\w* to (?:detect|catch|flag|find))")
_ALARM = (r"(?:false alarms?|false (?:'?[a-z]+'? )?alerts?|over-?mark\w*|over-?detect\w*|false rejects?|false positives?|false flags?|wrongly flagged|wrong(?:ly)? rejected|"
          r"flag(?:ging)? (?:a |an )?(?:good|genuine|healthy|normal|legitimate|real)|"
          r"block(?:ing)? (?:a |an )?(?:\w+ )?(?:genuine|legitimate|legit|real)|"
          r"reject(?:ing|ed)? (?:a |an )?good|rejected good|unnecessary \w+|for nothing|throw\w* away (?:a |an )?good|"
          r"(?:a |the )?flag has to be right|only (?:want )?(?:a )?flag when|flag only when|a flag is wrong|"
          r"voucher to someone who would have stayed|second look|needless \w+)")
_COSTLY = (r"(?:expensive|costly|costs? (?:a lot|far more|much more|more)|a disaster|the disaster|unacceptable|"
           r"dangerous|critical|terrible|the worst|must not happen|must never happen|the one thing|hurts?|"
           r"angers?|stops? (?:the|a|their|our)\b|start a fire|recall in the field|a big problem|not acceptable|"
           r"is what hurts|has to be right|only (?:want )?(?:a )?flag when|when (?:the model|it) is sure|"
           r"matters? (?:more|most)|is (?:really |very )?bad|painful|lose\w*|(?:a |an )?(?:\w+ )?problem|fined|fines\b|"
           r"multa|the worst mistake|worst|means? (?:a |an )?lost|lost (?:client|customer|sale|money|revenue)|money gone|"
           r"turns? into|can turn into|sinkhole|what (?:they|we|the client) care(?:s)? (?:about|most)|"
           r"care(?:s)? most about|the priority|expensive mistake|painful mistake|costly mistake)")
_CHEAP = (r"(?:is fine|are fine|fine|ok|okay|acceptable|cheap|no problem|not a problem|tolerable|not a big deal|"
          r"only means|just means|just (?:lands|costs|goes|gets)|only costs|covered by|caught (?:\w+ )?anyway|"
          r"checks? every|anyway|doesn'?t matter|does not matter|we can live with|harmless|for nothing is fine|cheaper|"
          r"a few (?:seconds|minutes|euros|cents|dollars)|just delays?|only delays?|annoying but|no big deal|"
          r"can wait)")
_MORE = r"\b(?:worse|more expensive|more costly|costlier|costs? (?:far |much |a lot )?more|matters? more|more important|bigger problem|(?:\d+|two|three|four|five|ten) times (?:what|as much as))\b"
_LESS = r"\b(?:less (?:bad|expensive|costly|important)|cheaper|not as bad as|better)\b"


def _side(text: str) -> Optional[str]:
    """Which mistake a clause is about: 'miss', 'alarm' or None (the first one named)."""
    miss, alarm = re.search(rf"\b{_MISS}\b", text), re.search(rf"\b{_ALARM}", text)
    if miss and alarm:
        return "miss" if miss.start() < alarm.start() else "alarm"
    return "miss" if miss else "alarm" if alarm else None


def error_priority(t: str) -> Optional[str]:
    """'recall:<word>', 'recall', 'precision' or 'balanced' when the message says which mistake costs more;
    None when it does not. Each clause names one mistake (a miss, a false alarm) and says it is costly or
    cheap, or compares the two ('a missed crack is worse than a false alarm')."""
    if re.search(r"\b(?:both (?:mistakes|errors|kinds of (?:mistakes|errors))|either mistake|each mistake)\b[^.]{0,30}"
                 r"\b(?:same|equal\w*|as bad)\b|\bequally (?:bad|costly|expensive)\b", t):
        return "balanced"
    recall = precision = 0
    for clause in re.split(r"[;.!?]|,|\bbut\b|\bwhile\b|\bwhereas\b|\bso\b", t):
        comparison = re.search(r"\bthan\b|\btimes what\b|\btimes as much as\b", clause)
        if comparison:
            left, right = clause[:comparison.start()], clause[comparison.end():]
            first = _side(left) or {"miss": "alarm", "alarm": "miss"}.get(_side(right) or "")
            if first and re.search(r"\b(?:rather|prefer\w*)\b", left):  # "rather stop it for nothing than miss one"
                recall, precision = (recall + 2, precision) if first == "alarm" else (recall, precision + 2)
                continue
            if first and (re.search(_MORE, clause) or re.search(_LESS, left)):
                costly_side = first if re.search(_MORE, clause) else {"miss": "alarm", "alarm": "miss"}[first]
                recall, precision = (recall + 2, precision) if costly_side == "miss" else (recall, precision + 2)
                continue
        side = _side(clause)
        if side is None:
            continue
        negated = re.search(r"\b(?:never|not|must not|mustn'?t|can'?t afford to|cannot afford to|don'?t want to|"
                            r"do not want to|should not|shouldn'?t|zero)\s+(?:\w+\s+)?" + _MISS, clause)
        costly, cheap = re.search(_COSTLY, clause), re.search(rf"\b{_CHEAP}\b", clause)
        if side == "miss" and (costly or negated) and not cheap:
            recall += 1
        elif side == "miss" and cheap:
            precision += 1
        elif side == "alarm" and cheap and not costly:
            recall += 1
        elif side == "alarm" and costly:
            precision += 1
    if re.search(r"\b(?:catch(?:ing)?|find|detect) (?:every|all|each|as many)\b|\brecall (?:matters|is (?:key|what|more))|"
                 r"\bbetter safe than sorry\b", t):
        recall += 1
    if re.search(r"\bprecision (?:matters|is (?:key|what|more))\b", t) or \
            re.search(rf"\b(?:far |much |a lot )?(?:fewer|less|no more|cut (?:down )?(?:on )?|reduce) {_ALARM}", t) or \
            re.search(rf"\b(?:even if|rather miss|would rather miss|ok to miss|fine to miss)\b[^.]{{0,40}}(?:{_MISS}|miss)", t):
        precision += 1
    caught = re.search(r"\b(?:catch|find|detect|flag)\w*\s+(?:at least\s+)?\d+(?:\.\d+)?\s*%\s+of\s+(?:the\s+|all\s+)?"
                       r"([a-z][a-z-]+)", t)
    if caught:
        return f"recall:{_singular(caught.group(1))}"
    if recall > precision:
        word = _missed_word(t)
        return f"recall:{word}" if word else "recall"
    if precision > recall:
        return "precision"
    return None


def _missed_word(t: str) -> Optional[str]:
    """The thing not to miss: 'never miss a defect' -> 'defect'; 'missing an urgent ticket' -> 'urgent'."""
    m = re.search(rf"\b(?:miss|missing|missed|overlook\w*|not detect\w*)\s+(?:a |an |one |any |the |single |un |una )?"
                  rf"(?:single )?([a-z][a-z-]+)(?:\s+([a-z][a-z-]+))?", t) or \
        re.search(r"\bcatch(?:ing)? (?:every|all|each|as many) (?:single )?(?:of the )?([a-z][a-z-]+)(?:\s+([a-z][a-z-]+))?", t)
    if not m:
        return None
    first, second = m.group(1), m.group(2)
    if first in ("one", "of", "out", "it", "them", "anything", "something", "thing", "case", "cases", "is", "are",
                 "would", "costs", "means", "can", "that"):
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


_CURRENCIES = {"€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "$": "USD", "usd": "USD", "dollar": "USD",
               "dollars": "USD", "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "chf": "CHF",
               "francs": "CHF"}


def price(t: str) -> Optional[tuple[float, str]]:
    """(price per hour, currency) when the message states a compute price: '2 euros an hour', '$3/h'."""
    cur = _CURRENCIES
    per = r"\s*(?:an|a|per|/|pro|de l'|la)\s*(?:gpu[- ]|cpu[- ]|machine[- ])?(?:hour|hr|h|stunde|heure|hora)\b"
    m = re.search(rf"(€|\$|£)\s*(\d+(?:\.\d+)?){per}", t)
    if m:
        return float(m.group(2)), cur[m.group(1)]
    m = re.search(rf"(\d+(?:[.,]\d+)?)\s*(€|\$|£|eur|euros?|usd|dollars?|gbp|pounds?|chf|francs){per}", t)
    if m:
        return float(m.group(1).replace(",", ".")), cur[m.group(2)]
    return None


def day_rate(t: str) -> Optional[tuple[float, str]]:
    """(consulting day rate, currency) when the message states one: 'my day rate is 950 EUR'."""
    cur = _CURRENCIES
    m = re.search(r"\bday ?rate (?:is |of |at )?(?:about |around )?(€|\$|£)?\s*(\d+(?:[.,]\d+)?)\s*(€|eur|euros?|usd|dollars|"
                  r"gbp|pounds|chf)?", t) or \
        re.search(r"(€|\$|£)?\s*(\d+(?:[.,]\d+)?)\s*(€|eur|euros?|usd|dollars|gbp|pounds|chf)?\s*(?:a|per|/)\s*"
                  r"(?:consulting |working )?day\b", t)
    if not m or not (m.group(1) or m.group(3)):
        return None
    return float(m.group(2).replace(",", ".")), cur[(m.group(1) or m.group(3))]
