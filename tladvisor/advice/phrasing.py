"""Plain-language phrases for client text: one function per claim, so the client messages, the client page and
the technical appendix write each number the same way (a band, its errors per 1,000, what more data buys).

Nothing here names a model id, a rule id or a training method's jargon: these phrases go to the client.
Pure Python: no torch import.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from tladvisor.advice.recommendation import band_text
from tladvisor.safe_text import md

if TYPE_CHECKING:
    from tladvisor.advice.brief import ProjectBrief
    from tladvisor.advice.recommendation import Recommendation

# what one labelled example is called, singular and plural, per task (then per modality)
_ITEMS = {"ner": ("sentence", "sentences"), "image": ("image", "images"), "text": ("text", "texts"),
          "tabular": ("row", "rows")}

# each plan stage in words a client can follow (the appendix keeps the technical step)
_STAGE_WORDS = {
    "linear_probe": "a quick baseline that reuses the pre-trained model as it is and trains only a small new "
                    "output layer",
    "lora": "light fine-tuning that adds a small set of new weights and leaves the pre-trained model intact",
    "partial": "careful fine-tuning of the model's top layers",
    "progressive": "careful fine-tuning, top layers first",
    "full": "fine-tuning the whole model in small steps",
    "gbdt": "gradient-boosted trees trained on your own rows, checked by cross-validation",
    "feature_transfer": "combined columns and encodings that worked in similar projects, kept only where they "
                        "help on your rows",
}


def items(rec: "Recommendation", plural: bool = True) -> str:
    """What one labelled example is called ('images', 'texts', 'sentences', 'rows')."""
    pair = _ITEMS.get(rec.brief.task) or _ITEMS.get(rec.modality, ("example", "examples"))
    return pair[1] if plural else pair[0]


def scored_items(rec: "Recommendation") -> str:
    """What the headline metric counts ('entities' for NER, else the examples)."""
    return "entities" if rec.brief.task == "ner" else items(rec)


def data_phrase(rec: "Recommendation") -> str:
    """'200 labelled images per class (3,000 in total)'."""
    b = rec.brief
    if b.task == "ner":
        return f"{b.total:,} annotated documents" if b.total else "annotated documents"
    counts = b.complete_counts
    if counts and b.imbalanced:
        parts = ", ".join(f"{n:,} '{md(c)}'" for c, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        return f"{b.total:,} labelled {items(rec)} ({parts})"
    small = b.smallest_class
    if small and b.imbalanced and b.total:
        return f"{b.total:,} labelled {items(rec)}, the smallest class with only {small[1]:,}"
    if b.per_class and b.classes:
        return f"{b.per_class:,} labelled {items(rec)} per class ({b.total:,} in total)"
    return f"{b.total:,} labelled {items(rec)}" if b.total else f"labelled {items(rec)}"


def problem_text(rec: "Recommendation") -> str:
    """The problem in one plain sentence built from the brief, then the client's own words when it has them."""
    b = rec.brief
    where = f" from your {md(b.domain)} work" if b.domain != "general" else ""
    k = f"{b.classes}" if b.classes else "several"
    one = items(rec, plural=False)
    learn = f", learning from {data_phrase(rec)}" if (b.total or b.per_class) else ""
    task = {
        "image-classification": f"sorts each {one}{where} into one of {k} categories",
        "object-detection": f"finds and boxes objects of {k} kinds in {items(rec)}{where}",
        "image-segmentation": f"marks, pixel by pixel, regions of {k} kinds in {items(rec)}{where}",
        "text-classification": f"sorts each {one}{where} into one of {k} categories",
        "sentiment": f"reads each {one}{where} and tells its tone ({k} classes)",
        "ner": f"finds and labels names and terms of {k} kinds in texts{where}",
        "tabular-classification": f"predicts one of {k} outcomes for each row of a table{where} from its other columns",
        "tabular-regression": f"predicts a number for each row of a table{where} from its other columns",
    }[b.task]
    # the call's own notes (often the salesperson's words, not the client's) stay in the appendix
    return f"You want a model that {task}{learn}."


def plan_phrase(rec: "Recommendation") -> str:
    """The plan as one client sentence: 'first, ...; then, only if it falls short, ...'."""
    steps = [_STAGE_WORDS.get(s.strategy, s.strategy.replace("_", " ")) for s in rec.plan]
    if not steps:
        return "we choose the approach after measuring on your data"
    if len(steps) == 1:
        return f"{steps[0]}"
    return f"first, {steps[0]}; then, only where it pays on your data, " + "; then ".join(steps[1:])


def per_thousand(rate: float) -> int:
    """An error rate per 1,000, rounded to tens above 20 and never to 0 when it is not 0 (0.3% -> 3, not 0)."""
    value = rate * 1000
    if value >= 20:
        return int(round(value / 10.0) * 10)
    return max(1, int(round(value))) if value > 0 else 0


def metric_words(rec: "Recommendation") -> str:
    """The expected metric in words a client follows."""
    metric = rec.expectation.metric
    if rec.brief.task == "ner":
        return "entity F1"
    if metric == "recall of the rare class":
        from tladvisor.advice.acceptance import priority_class

        rare = md(priority_class(rec.brief) or "rare")
        return f"recall of '{rare}' (the share of '{rare}' cases found)"
    if metric == "balanced accuracy":
        return "balanced accuracy (the average, over classes, of the share of each class found)"
    return metric


def errors_text(rec: "Recommendation") -> str:
    """The band as errors per 1,000 ('between 80 and 220 of every 1,000 images wrong'); '' without a band."""
    band = rec.expectation.band
    if band is None:
        return ""
    few, many = per_thousand(1 - band[1]), per_thousand(1 - band[0])
    what = scored_items(rec)
    if rec.brief.task == "ner":
        return (f"Roughly {few} to {many} of every 1,000 {what} would be missed or marked wrongly (the score "
                "weighs misses and false marks equally).")
    if rec.expectation.metric == "recall of the rare class":
        from tladvisor.advice.acceptance import priority_class

        rare = md(priority_class(rec.brief) or "rare")
        lo, hi = round(band[0] * 100), int(band[1] * 100)  # 99.5% finds 99 of 100, never "100 of 100"
        return (f"That means finding between {lo} and {hi} of every 100 '{rare}' cases. How many of the other "
                f"{what} are flagged for a second look at the same time depends on the decision threshold, which we "
                f"set with you: finding more '{rare}' cases costs more false alarms, and we report both.")
    if rec.expectation.metric == "balanced accuracy":
        return (f"That means between {few} and {many} of every 1,000 {what} of a class classified wrongly, on "
                "average over the classes; the small classes usually miss more, so we report each class.")
    return f"That means between {few} and {many} of every 1,000 {what} classified wrongly."


def expectation_sentence(rec: "Recommendation") -> str:
    """'We expect 78-92% accuracy on a held-out test set of your own data.' (or why no number is quoted yet)."""
    exp = rec.expectation
    if exp.band is None:
        if rec.modality == "tabular":
            return ("We do not quote a score before measuring: how well a table's columns predict the outcome "
                    "varies too much from one business to the next.")
        if rec.brief.task in ("object-detection", "image-segmentation"):
            return (f"We do not quote a {exp.metric} before measuring: it depends on how large and how varied the "
                    "objects are, which a first training on a sample of your annotated images shows.")
        return "We do not quote a number for this kind of project before measuring on your data."
    domain = f"{md(rec.brief.domain)} " if rec.brief.domain != "general" else ""
    return (f"On data like yours we expect **{exp.band_text}** {metric_words(rec)} on a held-out test set of "
            f"your own {domain}data.")


def growth_sentence(rec: "Recommendation") -> str:
    """What 2x and 5x the data would buy, never repeating a band (a repeat becomes 'more certain, not higher')."""
    exp, b = rec.expectation, rec.brief
    shown: list[str] = []
    last = exp.band
    for f in exp.forecast:
        if f.band is None or last is None or band_text(f.band) == band_text(last):
            break
        small = b.smallest_class
        amount = (f"{small[1] * f.multiplier:,} '{md(small[0])}' examples" if small and b.imbalanced
                  else f"{f.per_class:,} {items(rec)} per class" if f.per_class and b.task != "ner"
                  else f"{f.total:,} annotated documents" if b.task == "ner" and f.total else f"{f.multiplier}x the data")
        shown.append(f"at {amount} about **{band_text(f.band)}**")
        last = f.band
    if not exp.forecast or exp.band is None:
        if rec.modality == "tabular":
            return "More rows help most where an outcome is rare; we measure how the score grows on your table."
        return "We measure how the score grows with more labelled data once we have yours."
    if not shown:
        return ("More labelled data would mainly make the result more certain rather than higher: at this volume "
                "the estimate has levelled off.")
    text = "More labelled data raises the expected score: " + ", and ".join(shown) + "."
    if len(shown) < len(exp.forecast):
        text += " Beyond that the estimate levels off."
    return text


def sample_sentence(rec: "Recommendation") -> str:
    """The sample that would turn the estimate into a measurement."""
    b = rec.brief
    if rec.modality == "tabular":
        return "An export of the table with its outcome column lets us measure a cross-validated score in minutes."
    if b.task == "ner":
        return ("About 200 annotated sentences would let us run a first training and measure instead of "
                "estimate.")
    if b.task in ("object-detection", "image-segmentation"):
        kind = "boxes" if b.task == "object-detection" else "masks"
        return (f"A first training on about 50 of your images annotated with {kind} gives the measured figure; for "
                "these tasks it runs outside this tool for now.")
    per = min(30, b.per_class) if b.per_class else 30
    small = b.smallest_class
    if small and b.imbalanced and small[1] < 100:
        return (f"A sample of about {per} labelled {items(rec)} per class, with every '{md(small[0])}' example you "
                "have, lets us measure a first range on a CPU the same day; with so few rare examples that range "
                "stays wider than a few points, and it sets the pass mark with you before any larger commitment.")
    return (f"A sample of about {per} labelled {items(rec)} per class lets us measure a range a few points "
            "wide on a CPU the same day, before any larger commitment, and agree the pass mark from it.")


def approach_text(rec: "Recommendation") -> str:
    """The approach in one paragraph, true for the modality (no pre-training claim for tables)."""
    plan = plan_phrase(rec)
    if rec.modality == "tabular":
        return ("We train gradient-boosted trees on your own rows: for tables of this kind they are the strongest "
                "standard approach, and no pre-trained model is involved. What carries over from earlier projects "
                f"is know-how: encodings, combined columns and checks for columns that leak the answer. The plan: "
                f"{plan}.")
    source = rec.primary.name if not rec.primary.advice_only else "a public pre-trained model"
    knows = ("already knows how words are used in context" if rec.modality == "text"
             else "already knows the shapes, edges and textures that images are made of")
    from tladvisor.advice.catalogue import get_backbone

    few = (rec.brief.per_class or 100) < 20
    why = (f"That is why even {data_phrase(rec)} is enough to start, though more labelled data will raise the "
           "score" if few else f"That is why {data_phrase(rec)} can be enough")
    return (f"We start from {source}, a model pre-trained on {get_backbone(rec.primary.id).pretraining_data} that "
            f"{knows}, and adapt it to your {items(rec)}. {why}. The plan: {plan}.")


def compute_phrase(kind: str) -> str:
    """'on a CPU' / 'on one GPU' / 'on several GPUs'."""
    return {"cpu": "on a CPU", "single_gpu": "on one GPU", "multi_gpu": "on several GPUs"}.get(kind, kind)


def compute_footnote(rec: "Recommendation") -> str:
    """The compute time (and its cost in a currency, when a price is known) as one sentence; '' when unknown."""
    from tladvisor.advice.estimate import duration_text, money

    est = rec.own_estimate
    if rec.modality == "tabular":
        return ("The training itself takes seconds to minutes on an ordinary computer; its compute cost is "
                "negligible.")
    if est is None or est.seconds is None:
        return ""
    where = compute_phrase(est.compute)
    gpu_note = " (measured on a CPU; a GPU is faster)" if est.compute != "cpu" and "CPU measurement" in est.basis else ""
    text = f"The training itself takes at most **{duration_text(est.seconds)}** of compute {where}{gpu_note}"
    if est.cost is not None:
        text += (f", about {money(est.cost, est.currency)} at {money(est.price_per_hour or 0, est.currency)} "
                 "per hour")
    return text + "; it usually stops sooner, once the score stops improving."


def timeline_text(rec: "Recommendation") -> str:
    """'About 6-10 working days: data check (1-2 days), ...' from the recommendation's timeline."""
    from tladvisor.advice.timeline import total_days

    if not rec.timeline:
        return ""
    lo, hi = total_days(rec.timeline)
    span = lambda d: f"{d[0]} day" if d[0] == d[1] == 1 else (f"{d[0]} days" if d[0] == d[1] else f"{d[0]}-{d[1]} days")
    steps = ", ".join(f"{p.name.lower()} ({span(p.days)})" for p in rec.timeline)
    why = [w for p in rec.timeline for w in p.why if w]
    extra = f" It is longer than the simplest projects because {'; and '.join(why)}." if why else ""
    return f"About **{lo}-{hi} working days** from receiving the data: {steps}.{extra}"


def time_cost_text(rec: "Recommendation") -> str:
    """The project timeline, then the compute time and cost as a footnote."""
    return " ".join(x for x in (timeline_text(rec), compute_footnote(rec)) if x) or \
        "We estimate the time once the data volume is known."


def headline(rec: "Recommendation") -> str:
    """The project title: the brief's name, or the task and domain in words."""
    b: "ProjectBrief" = rec.brief
    if b.project_name:
        return md(b.project_name)
    task = "Named-entity recognition" if b.task == "ner" else b.task.replace("-", " ").capitalize()
    return f"{task} for a {md(b.domain)} client" if b.domain != "general" else task
