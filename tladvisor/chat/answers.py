"""Answers to the questions clients ask in a scoping call, from the recommendation's own numbers.

Each answerer owns one kind of question ("what accuracy can we expect?", "how long will it take?", "can we use
our unlabelled data?", "what do you mean by clean?", "why not from scratch?", "is a general model OK?", "would a
neural network do better?" for tables, "is Legal-BERT OK commercially?") and answers it in plain words, with the
band, errors, timeline and licence facts the client page uses (`advice.phrasing`). A question none of them owns
goes to guide retrieval (`guides.py`). No command lines, file paths or benchmark provenance in a reply.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Optional

from tladvisor.advice import phrasing
from tladvisor.advice.brief import ProjectBrief
from tladvisor.advice.catalogue import Backbone, get_backbone
from tladvisor.advice.knowledge import load_yaml
from tladvisor.advice.licences import language_fit, licence_sentence
from tladvisor.advice.recommendation import Recommendation
from tladvisor.chat.backbone_names import named_backbones


@dataclass
class Context:
    """What an answerer may read: the question, the brief so far and its recommendation (None until complete)."""

    question: str
    brief: Optional[ProjectBrief]
    rec: Optional[Recommendation]
    missing: list[str]
    message: str = ""  # the whole message: "It must not forget the old objects. How do we make sure?"
    previous: str = ""  # the answerer of the previous question ("what would it add?" follows up on it)
    day_rate: Optional[float] = None  # the consulting day rate stated in the call
    currency: str = ""


@lru_cache(maxsize=1)
def _fixed_answers() -> dict[str, str]:
    return (load_yaml("answers.yaml") or {}).get("answers", {})


def fixed(key: str, **values: str) -> str:
    """A fixed answer from `knowledge/answers.yaml`, its {placeholders} filled."""
    return _fixed_answers()[key].format(**values)


def _needs(ctx: Context) -> str:
    words = {"task": "what the model must do", "classes": "how many classes", "per_class": "how many labelled "
             "examples there are", "total": "how many labelled examples there are"}
    need = [words.get(m.split(" ")[0], m.split(" (")[0]) for m in ctx.missing] or ["what the model must do"]
    return " and ".join(dict.fromkeys(need))


def accuracy(ctx: Context) -> str:
    """The band in the task's metric, what it means in errors, the baseline, and the sample check."""
    rec = ctx.rec
    if rec is None:
        return (f"I can give you a range as soon as I know {_needs(ctx)}. Either way, the quickest way to a number "
                "you can promise is the sample check: send about 30 labelled examples per class and we return a "
                "range a few points wide the same day.")
    parts = [phrasing.expectation_sentence(rec), phrasing.errors_text(rec)]
    acc = rec.acceptance
    if acc is not None and acc.baseline_text and (rec.brief.imbalanced or rec.brief.classes == 2):
        parts.append(f"For comparison: {acc.baseline_text[0].lower() + acc.baseline_text[1:]}")
    if rec.expectation.band is not None:
        parts.append("This is an estimate before seeing the data, not a promise.")
    parts.append(phrasing.sample_sentence(rec))
    if acc is not None:
        bar = (f"the {acc.threshold:.0%} you need" if acc.threshold else
               "a pass mark agreed after the sample check")
        parts.append(f"We would judge success by {acc.metric}, against {bar}.")
    return " ".join(p for p in parts if p)


def promise(ctx: Context) -> str:
    """'What can we promise?': the method and a pass mark agreed on measured data, not a number now."""
    rec = ctx.rec
    if rec is None or rec.acceptance is None:
        return accuracy(ctx)
    acc = rec.acceptance
    band = (f" Our estimate for now is {rec.expectation.band_text} {phrasing.metric_words(rec)}, too wide to "
            "promise." if rec.expectation.band is not None else "")
    bar = (f"the {acc.threshold:.0%} the client needs, checked early against the sample" if acc.threshold else
           "a pass mark agreed with the client once the sample check has measured what the data supports")
    return (f"Promise the method and the measure, not a number yet.{band} In the proposal: success is judged by "
            f"{acc.metric}, on a held-out test set of the client's own data, against {bar}. "
            f"{acc.baseline_text} The sample check comes first, so nobody signs up to a figure the data cannot reach.")


def capability(ctx: Context) -> Optional[str]:
    """'Can you train it here?' for a task the engine scopes but does not train: a plain no, then the plan."""
    b = ctx.brief
    if b is None or b.task not in ("object-detection", "image-segmentation", "tabular-regression"):
        return None
    what = {"object-detection": "detection", "image-segmentation": "segmentation",
            "tabular-regression": "regression"}[b.task]
    steps = "; then ".join(st.step.split(":")[0] for st in ctx.rec.plan) if ctx.rec and ctx.rec.plan else ""
    return (f"Not in this tool yet: training {what} here is not available. We scope it, and the project trains it "
            f"with maintained libraries on the same pre-trained backbones{': ' + steps if steps else ''}. "
            "Image and text classification, named entities and tables train here today.")


def timeline(ctx: Context) -> str:
    """The project in working days, with the compute time and its cost as a footnote."""
    rec = ctx.rec
    if rec is None:
        return (f"A typical project of this kind takes one to three weeks: data check, a sample check, the proof "
                f"of concept and the report. I can be more precise once I know {_needs(ctx)}.")
    text = phrasing.timeline_text(rec)
    foot = phrasing.compute_footnote(rec)
    est = rec.own_estimate
    if foot:
        text += " " + foot
    if est is not None and est.seconds is not None and est.cost is None:
        text += (f" In money that is {est.seconds / 3600:.2f} machine-hours at your hourly compute price: tell me "
                 "the price and I will work out the amount.")
    if ctx.day_rate:
        from tladvisor.advice.estimate import money
        from tladvisor.advice.timeline import total_days

        lo, hi = total_days(rec.timeline)
        code = ctx.currency or (est.currency if est else "USD")
        return text + (f" At your day rate of {money(ctx.day_rate, code)}, the consulting days come to about "
                       f"{money(lo * ctx.day_rate, code)} to {money(hi * ctx.day_rate, code)}.")
    return text + " The consulting days above are quoted separately, by your agency."


def unlabelled(ctx: Context) -> str:
    """What unlabelled data can do for this project, and what it does not replace."""
    modality = ctx.brief.modality if ctx.brief else None
    if modality == "tabular":
        return fixed("unlabelled_table")
    text_part = " " + fixed("unlabelled_text_part") if modality in (None, "text") else ""
    return fixed("unlabelled", text_part=text_part)


def label_quality(ctx: Context) -> str:
    """What 'clean labels' means and how to tell."""
    return fixed("label_quality")


def from_scratch(ctx: Context) -> str:
    """Why no pre-trained start for a table (images and texts are answered by the guide)."""
    return fixed("tabular_from_scratch")


def honest_test(ctx: Context) -> str:
    """'Is the test score honest?': held-out, de-duplicated, grouped splits."""
    return fixed("honest_test")


def general_model(ctx: Context) -> str:
    """Is an off-the-shelf model enough?"""
    return fixed("general_model")


def tabular_neural(ctx: Context) -> str:
    """Would a neural network / pre-trained model beat gradient boosting on a table?"""
    return fixed("tabular_neural")


def licence(ctx: Context) -> Optional[str]:
    """Licence facts, obligations and language fit of the model the question is about (None: no model named)."""
    named = named_backbones(ctx.question) or named_backbones(ctx.message)
    wanted = [get_backbone(i) for i in (ctx.brief.preferred_backbones if ctx.brief else [])]
    models: list[Backbone] = []
    for b in named:
        # "Is BERT OK?" after "the client insists on Legal-BERT": the question is about the model they want
        fuller = [w for w in wanted if w.id != b.id and b.name.split(" ")[0].lower() in w.name.lower()]
        models.extend(fuller or [b])
    if not models:
        if not re.search(r"\b(?:it|this model|that model|the model|the recommended)\b", ctx.question, re.I):
            return None
        if ctx.rec is not None:
            models = [get_backbone(ctx.rec.primary.id)]
        elif wanted:
            models = wanted
    if not models:
        return None
    models = list({b.id: b for b in models}.values())  # once each, in order of mention
    lines = [licence_sentence(b) for b in models]
    language = ctx.brief.language if ctx.brief else "en"
    for b in models:
        fit = language_fit(b, language)
        if fit:
            lines.append(fit)
    commercial = ctx.brief.commercial if ctx.brief else None
    if commercial is None:
        lines.append("If the model will be used commercially, only the 'allowed' licences above are safe.")
    return " ".join(lines) + "\n\n*Source: the model catalogue's licence facts and the guide Model licences and " \
        "commercial use.*"


def more_data(ctx: Context) -> Optional[str]:
    """What more labelled data would buy: the band at the volume asked about, or at 2x / 5x."""
    rec = ctx.rec
    if rec is None:
        return None
    from tladvisor.advice.advisor import advise

    m = re.search(r"(\d[\d,]*)\s+(?:\w+\s+)?(?:per|each|a|an)\s+\w+", ctx.question)
    b = rec.brief
    if m and b.classes and rec.expectation.band is not None and not b.imbalanced:
        n = int(m.group(1).replace(",", ""))
        other = advise(b.model_copy(update={"per_class": n, "total": n * b.classes, "class_counts": None}))
        return (f"With about {n:,} labelled {phrasing.items(rec)} per class we would expect "
                f"**{other.expectation.band_text}** {phrasing.metric_words(other)}, against "
                f"**{rec.expectation.band_text}** now. {phrasing.errors_text(other)} The sample check shows early "
                "whether your data follows that curve.")
    text = phrasing.growth_sentence(rec)
    small = b.smallest_class
    if small and b.imbalanced:
        text += (f" The examples of '{small[0]}', the smallest class, buy the most: the estimate above rests on "
                 "them, and each one also makes the measured recall more certain.")
    return text


def follow_up(ctx: Context) -> Optional[str]:
    """'What would it add, in numbers?' after the unlabelled-data answer, and the like."""
    if ctx.previous == "unlabelled":
        return fixed("unlabelled_in_numbers")
    if ctx.previous in ("accuracy", "more_data"):
        return more_data(ctx)
    return None


def compute_ok(ctx: Context) -> Optional[str]:
    """'Only CPUs. Is that a problem?': what the plan costs on the compute they have."""
    rec = ctx.rec
    if rec is None:
        return ("A CPU is enough for the first steps: the bundled models are small and the quick baseline trains in "
                "minutes. I can give the time once I know how much labelled data there is.")
    foot = phrasing.compute_footnote(rec)
    return ("No, that is fine for this project: the plan starts from small pre-trained models and trains only what "
            f"it needs. {foot} A GPU would mainly speed up the fine-tuning steps.")


def forgetting(ctx: Context) -> str:
    """How the model keeps what it already knows."""
    return fixed("forgetting")


def language_model(ctx: Context) -> Optional[str]:
    """'Is an English model OK?' for text in another language."""
    b = ctx.brief
    if b is None or b.modality != "text":
        return None
    from tladvisor.advice.catalogue import get_backbone as backbone

    fit = language_fit(backbone("bert_base"), b.language) if b.language != "en" else None
    if fit:
        return (f"No: an English-only model reads {b.language.upper()} text poorly. {fit} The plan already uses "
                f"{ctx.rec.primary.name if ctx.rec else 'a multilingual encoder'}.")
    return "Yes: the texts are in English, so an English model fits."


_ACCURACY = (r"\b(?:accuracy|accurate|how good|how well|what (?:score|results?|performance|recall|precision|f1)|"
             r"can we promise|what (?:can|could|should) we (?:promise|expect|guarantee|tell)|what (?:to|can we) expect|"
             r"expect(?:ed)? (?:results?|performance|score)|how many (?:will|would) it (?:miss|get wrong|find)|"
             r"how reliable|error rate|genauigkeit|erwarten|précision|exactitud|precisión|fiable|"
             r"(?:map|iou|dice|f1|recall|precision)\b[^.?]{0,30}\bexpect)\b")
_TIME = (r"\b(?:how long|how much time|how many (?:hours|minutes|days|weeks)|what will it cost|how much will it cost|"
         r"cost|costs|pricing|price|budget|how expensive|training time|timeline|time ?frame|when (?:can|could|will) "
         r"(?:we|it|they)|wie lange|kosten|kostet|combien de temps|combien|coût|cuánto tiempo|cuánto cuesta|"
         r"cuesta|dauer|délai|plazo)\b")
UNLABELLED = r"\b(?:un-?labell?ed|without labels|no labels|raw (?:data|images|photos|texts)|unannotated)\b"
_QUALITY = (r"\b(?:mean by (?:clean|noisy|noise|label quality|quality)|what (?:is|are) (?:clean|noisy) labels|"
            r"label quality|how clean|clean labels?)\b")
_SCRATCH = (r"\b(?:from scratch|own model from|build (?:our|their) own model|train (?:our|their) own|transfer (?:that|the|our|"
            r"their|this) model|reuse (?:that|the|our|their) model)\b")
_MORE = (r"\bwhat (?:would|will|could|does|do) (?:\w+ ){0,6}(?:buy|give|bring|get) (?:us|them|you)?\b|"
         r"\bhow much (?:better|more) (?:with|would)\b|\bmore (?:labelled |labeled )?(?:data|examples|images|labels)\b")
_PROMISE = r"\b(?:promise|guarantee|commit to|put in the proposal|in the proposal)\b"
_CAN_TRAIN = r"\b(?:can|could|do|does|will)\s+(?:you|it|we|the tool)\s+(?:also\s+)?(?:train|build|do)\b.*\bhere\b|\btrain (?:it|the \w+|that) here\b"
_FOLLOW = r"\bwhat would (?:it|that|they) add\b|\bin numbers\b|\bhow much (?:would|does|will) (?:it|that) (?:help|add)\b"
_COMPUTE = r"\b(?:only cpus?|cpu only|no gpu|without (?:a )?gpu|just a laptop|a normal (?:pc|computer)|on a cpu)\b"
_PROBLEM = r"\b(?:is (?:that|this|it) (?:a problem|ok|okay|enough|fine)|problem)\b"
_FORGET = r"\b(?:forget\w*|old (?:classes|objects|skills|categories)|original (?:skills|task))\b"
_ENGLISH_MODEL = r"\b(?:english(?:-only)? model|model in english|english bert|modelo en ingl[eé]s)\b"
_HONEST = (r"\b(?:honest|trust (?:the|that|this) (?:test|score|number|result)|leak\w*|same patients?|"
           r"reliable (?:test|score|number)|is the (?:test )?score real|inflated|optimistic)\b")
_VAGUE = (r"\b(?:can|could|would|will|does|do|is|are) (?:that|this|it|those|these|they) (?:help|be useful|be worth|"
          r"worth anything|useful|matter)|\bworth anything\b|\bany use\b")
_GENERAL = (r"\b(?:general(?:-purpose)? model|generic model|off[- ]the[- ]shelf|out of the box|chatgpt|gpt-?\d|"
            r"general one)\b")
_NEURAL = (r"\b(?:neural net\w*|deep learning|pre-?trained (?:model|on tables)|transformer|llm|tabnet|red neuronal)s?\b")
_LICENCE = (r"\b(?:licen[cs]\w*|commercial\w*|allowed|permitted|legal(?:ly)?|ok to use|okay to use|can (?:we|they|you) use|"
            r"use it|is (?:\w+ |that |it )?(?:ok|okay|fine)|paid)\b")

# (pattern, answerer, applies) in order: the first whose pattern and condition hold answers
ANSWERERS: tuple[tuple[str, Callable[[Context], Optional[str]], Callable[[Context], bool]], ...] = (
    (_LICENCE, licence, lambda c: bool(named_backbones(c.question) or named_backbones(c.message))
     or bool(re.search(r"licen[cs]", c.question, re.I))),
    (_FOLLOW, follow_up, lambda c: bool(c.previous)),
    (_ENGLISH_MODEL, language_model, lambda c: True),
    (UNLABELLED, unlabelled, lambda c: True),
    (_HONEST, honest_test, lambda c: True),
    (_QUALITY, label_quality, lambda c: True),
    # images and texts: the guide answers "why not from scratch?"; a table has no pre-trained start at all
    (_SCRATCH, from_scratch, lambda c: c.brief is not None and c.brief.modality == "tabular"),
    (_NEURAL, tabular_neural, lambda c: c.brief is not None and c.brief.modality == "tabular"),
    (_GENERAL, general_model, lambda c: True),
    (_PROMISE, promise, lambda c: True),
    (_CAN_TRAIN, capability, lambda c: True),
    (_TIME, timeline, lambda c: True),
    (_MORE, more_data, lambda c: True),
    (_ACCURACY, accuracy, lambda c: True),
    (_PROBLEM, compute_ok, lambda c: bool(re.search(_COMPUTE, c.message, re.IGNORECASE))),
    (_PROBLEM + "|" + r"\bhow do we (?:make sure|ensure|avoid)\b", forgetting,
     lambda c: bool(re.search(_FORGET, c.message, re.IGNORECASE))),
)


def answer(ctx: Context) -> Optional[tuple[str, str]]:
    """(answerer name, answer) of the first answerer that owns the question, or None (then guide retrieval
    answers)."""
    found: list[tuple[str, str]] = []
    # "They also have 5,000 unlabelled scans. Can that help?": a vague question takes its topic from the message
    texts = [ctx.question] + ([ctx.message] if re.search(_VAGUE, ctx.question, re.IGNORECASE) else [])
    for text_in in texts:
        for pattern, answerer, applies in ANSWERERS:
            if re.search(pattern, text_in, re.IGNORECASE) and applies(ctx):
                text = answerer(ctx)
                if text:
                    found.append((answerer.__name__, text))
        if found:
            break
    if not found:
        return None
    # "what can we promise, and how long will it take?": the first answer, and the timeline when also asked
    extra = [t for name, t in found[1:] if name == "timeline" and found[0][0] != "timeline"]
    return found[0][0], "\n\n".join([found[0][1], *extra])
