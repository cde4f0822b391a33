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
from typing import Callable, Optional

from tladvisor.advice import phrasing
from tladvisor.advice.brief import ProjectBrief
from tladvisor.advice.catalogue import Backbone, get_backbone
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
    parts.append("This is an estimate before seeing the data, not a promise.")
    parts.append(phrasing.sample_sentence(rec))
    if acc is not None:
        bar = (f"the {acc.threshold:.0%} you need" if acc.threshold else
               "a pass mark agreed after the sample check")
        parts.append(f"We would judge success by {acc.metric}, against {bar}.")
    return " ".join(p for p in parts if p)


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
        text += (f" Its cost is {est.seconds / 3600:.2f} machine-hours at your compute price (tell me the hourly "
                 "price and I work it out); consulting days are not included.")
    return text


def unlabelled(ctx: Context) -> str:
    """What unlabelled data can do for this project, and what it does not replace."""
    b = ctx.brief
    modality = b.modality if b else None
    if modality == "tabular":
        return ("For a table, unlabelled rows help little: gradient boosting learns from rows whose outcome is "
                "known. What they are good for is checking that the columns look the same in production, and "
                "choosing which rows to label next.")
    text_part = (" For text, the encoder can first be adapted to your wording by continued pre-training on the "
                 "unlabelled texts (domain-adaptive pre-training)." if modality in (None, "text") else "")
    return ("Yes, it helps in two ways. First, choosing what to label: the model picks the unlabelled examples it "
            "is least sure about, so every hour of labelling buys the most.{0} Second, self-training: the "
            "first model labels the unlabelled examples it is confident about, and those join training - kept "
            "only where the held-out score improves. It does not replace labelled examples of each class: the "
            "score is always measured on labelled data the model never saw. In this version we use unlabelled "
            "data to choose what to label next and plan self-training with you; the automatic pipeline is being "
            "built.").format(text_part)


def label_quality(ctx: Context) -> str:
    """What 'clean labels' means and how to tell."""
    return ("By clean labels I mean that almost every example is filed under the right class, by people who "
            "know the classes, with one agreed definition per class. Signs of noise: labels from keyword rules "
            "or a hurry, annotators who disagree often, classes whose definitions overlap. A quick check: have "
            "two people label the same 50 examples; if they agree on 95% or more, the labels are clean enough; "
            "under about 85%, clean them first - 500 clean examples beat 5,000 noisy ones. Who labelled the data, "
            "and how often do they agree?")


def from_scratch(ctx: Context) -> str:
    """Why a pre-trained start, per modality (tables have none)."""
    b = ctx.brief
    if b is not None and b.modality == "tabular":
        return ("For a table there is no pre-trained model to start from: we train gradient-boosted trees on your "
                "own rows, which is the strongest standard method for tables of this size, and compare it with a "
                "simple baseline. What carries over from earlier projects is know-how - encodings, combined "
                "columns and checks for columns that leak the answer.")
    what = "images" if b is None or b.modality == "image" else "texts"
    learned = ("edges, textures and shapes from over a million photos" if what == "images"
               else "how words are used from billions of words of text")
    have = f" With {phrasing.data_phrase(ctx.rec)}," if ctx.rec is not None else " With a few thousand labelled examples,"
    return (f"A model trained from scratch has to learn everything from your labels.{have} it cannot learn the "
            f"basics and ends up little better than guessing. A pre-trained model already knows {learned}; only "
            "the last layers need your data. From scratch pays only with very large labelled data sets or inputs "
            "unlike anything public models have seen. We measure a from-scratch baseline on your data so you can "
            "see the gap.")


def general_model(ctx: Context) -> str:
    """Is an off-the-shelf model enough?"""
    return ("A general model out of the box does not know your classes, so it cannot be used as it is; but it "
            "is the right starting point. We keep what it learned in general and adapt it to your labelled "
            "examples - that is what makes a small data set enough. Whether a general model or one pre-trained "
            "closer to your domain does better, we measure on a sample of your data in minutes rather than guess.")


def tabular_neural(ctx: Context) -> str:
    """Would a neural network / pre-trained model beat gradient boosting on a table?"""
    return ("On tables like this one, usually not: gradient-boosted trees remain the strongest standard method for "
            "tabular data of this size, and there is no pre-trained model for your columns to start from. Neural "
            "networks for tables (such as TabNet) need much more data and tuning to match them. We train gradient "
            "boosting on your rows and report it beside a simple baseline, so the number is measured, not assumed.")


def licence(ctx: Context) -> Optional[str]:
    """Licence facts, obligations and language fit of the model the question is about (None: no model named)."""
    named = named_backbones(ctx.question)
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
    lines = [licence_sentence(b) for b in dict.fromkeys(models)]
    language = ctx.brief.language if ctx.brief else "en"
    for b in dict.fromkeys(models):
        fit = language_fit(b, language)
        if fit:
            lines.append(fit)
    commercial = ctx.brief.commercial if ctx.brief else None
    if commercial is None:
        lines.append("If the model will be used commercially, only the 'allowed' licences above are safe.")
    return " ".join(lines)


_ACCURACY = (r"\b(?:accuracy|accurate|how good|how well|what (?:score|results?|performance|recall|precision|f1)|"
             r"can we promise|what (?:can|could|should) we (?:promise|expect|guarantee|tell)|what (?:to|can we) expect|"
             r"expect(?:ed)? (?:results?|performance|score)|how many (?:will|would) it (?:miss|get wrong|find)|"
             r"how reliable|error rate|genauigkeit|erwarten|précision|exactitud|precisión|fiable)\b")
_TIME = (r"\b(?:how long|how much time|how many (?:hours|minutes|days|weeks)|what will it cost|how much will it cost|"
         r"cost|costs|pricing|price|budget|how expensive|training time|timeline|time ?frame|when (?:can|could|will) "
         r"(?:we|it|they)|wie lange|kosten|kostet|combien de temps|combien|coût|cuánto tiempo|cuánto cuesta|"
         r"cuesta|dauer|délai|plazo)\b")
_UNLABELLED = r"\b(?:un-?labell?ed|without labels|no labels|raw (?:data|images|photos|texts)|unannotated)\b"
_QUALITY = (r"\b(?:mean by (?:clean|noisy|noise|label quality|quality)|what (?:is|are) (?:clean|noisy) labels|"
            r"label quality|how clean|clean labels?)\b")
_SCRATCH = r"\b(?:from scratch|own model from|build (?:our|their) own model|train (?:our|their) own)\b"
_GENERAL = (r"\b(?:general(?:-purpose)? model|generic model|off[- ]the[- ]shelf|out of the box|chatgpt|gpt-?\d|"
            r"general one)\b")
_NEURAL = r"\b(?:neural net\w*|deep learning|pre-?trained model|transformer|llm)s?\b"
_LICENCE = r"\b(?:licen[cs]\w*|commercial\w*|allowed|permitted|legal(?:ly)?|ok to use|okay to use|can we use|is \w+ ok)\b"

# (pattern, answerer, applies) in order: the first whose pattern and condition hold answers
ANSWERERS: tuple[tuple[str, Callable[[Context], Optional[str]], Callable[[Context], bool]], ...] = (
    (_LICENCE, licence, lambda c: bool(named_backbones(c.question)) or bool(re.search(r"licen[cs]", c.question, re.I))),
    (_UNLABELLED, unlabelled, lambda c: True),
    (_QUALITY, label_quality, lambda c: True),
    (_SCRATCH, from_scratch, lambda c: True),
    (_NEURAL, tabular_neural, lambda c: c.brief is not None and c.brief.modality == "tabular"),
    (_GENERAL, general_model, lambda c: True),
    (_TIME, timeline, lambda c: True),
    (_ACCURACY, accuracy, lambda c: True),
)


def answer(ctx: Context) -> Optional[str]:
    """The answer of the first answerer that owns the question, or None (then guide retrieval answers)."""
    for pattern, answerer, applies in ANSWERERS:
        if re.search(pattern, ctx.question, re.IGNORECASE) and applies(ctx):
            text = answerer(ctx)
            if text:
                return text
    return None
