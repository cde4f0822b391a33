"""How a project's success is judged: the metric that fits the task and its class balance, the trivial baseline
it must beat, and a bar only where one is known.

Before data no bar is drawn from the expected band's floor (that floor is an estimate, not a client's need):
the bar is the client's own stated need when there is one, else it is agreed after the sample check. An accuracy
bar at or below the majority share (what "always answer OK" scores) is never proposed. Pure Python.
"""
from __future__ import annotations

from typing import Optional

from tladvisor.advice.brief import ProjectBrief
from tladvisor.advice.recommendation import Acceptance


def priority_class(brief: ProjectBrief) -> Optional[str]:
    """The class the client's priority is about, matched to the named classes ('defects' -> 'defect'), else
    the smallest named class, else the word the client used."""
    kind, word = brief.priority
    names = list(brief.class_counts or {})
    if word:
        stem = word.rstrip("s")
        for name in names:
            low = name.lower()
            if stem and (stem in low or low.rstrip("s") in word):
                return name
    small = brief.smallest_class
    if small and small[0] not in ("other", "smallest class"):
        return small[0]
    return word


def _majority_name(brief: ProjectBrief) -> Optional[str]:
    counts = brief.complete_counts
    return max(counts, key=lambda k: counts[k]) if counts else None


def _quoted(name: str) -> str:
    return name if name.startswith("the ") else f"'{name}'"


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%" if x < 0.995 else f"{x * 100:.2f}%"


def build_acceptance(brief: ProjectBrief, metric: str, test_fraction: float = 0.2) -> Acceptance:
    """The acceptance criteria for a brief whose expected `metric` the rules chose."""
    total = brief.total or ((brief.per_class or 0) * (brief.classes or 0)) or None
    test_size = int(total * test_fraction) if total else None
    small = brief.smallest_class
    rare_in_test = int(small[1] * test_fraction) if small and brief.imbalanced else None
    share = brief.majority_share if brief.classes else None
    kind, _ = brief.priority
    rare = priority_class(brief) or "the rare class"
    major = _majority_name(brief) or "the largest class"
    target = brief.target
    if brief.task == "ner":
        return Acceptance(metric="entity F1 (exact kind and boundaries), per kind of name", threshold=target,
                          baseline=None, baseline_text="A model that marks nothing scores 0 entity F1.",
                          test_size=test_size, why="Entity F1 weighs missed and wrongly marked names alike.")
    if brief.task == "object-detection":
        return Acceptance(metric="mAP@0.5 (boxes overlapping the truth by half or more), with recall and false "
                                 "detections per image at the chosen score threshold", threshold=target,
                          baseline=0.0, baseline_text="A detector that boxes nothing scores 0 mAP.",
                          test_size=test_size, why="Detection is judged on boxes found and false boxes, not on "
                                                   "whole-image labels.")
    if brief.task == "image-segmentation":
        return Acceptance(metric="mean IoU (and Dice) over the defect classes, with the share of images where a "
                                 "defect is found", threshold=target, baseline=0.0,
                          baseline_text="A model that marks no pixel as defect scores 0 IoU on the defect classes.",
                          test_size=test_size, why="Pixel masks are judged by how well the marked area overlaps "
                                                   "the true one.")
    if brief.task == "tabular-regression":
        return Acceptance(metric="mean absolute error, against predicting the average for every row",
                          threshold=None, baseline=None,
                          baseline_text="Predicting the average for every row is the baseline to beat.",
                          test_size=test_size, why="A regression is judged by how far its numbers are off.")
    if brief.imbalanced and brief.classes == 2:
        if kind == "recall":
            name = f"recall of '{rare}' (the share of {rare} cases found) at a false-alarm rate agreed with you"
        elif kind == "precision":
            name = f"precision of '{rare}' (the share of alarms that are real) at a recall agreed with you"
        else:
            name = f"F1 of '{rare}' (cases found and alarms that are real, together), with the threshold-free PR-AUC"
        base = (f"Always answering '{major}' is right {_pct(share)} of the time and finds no '{rare}' at all; "
                f"flagging everything finds every '{rare}' and is wrong on {_pct(share)} of the items."
                if share else f"Always answering the largest class finds no '{rare}' at all.")
        why = (f"With {_pct(share) if share else 'most'} of the items in one class, accuracy rewards a model that "
               f"never finds a '{rare}'; the measure is how many '{rare}' cases are found and what that costs in "
               "false alarms.")
        return Acceptance(metric=name, threshold=target if kind != "unknown" else None, baseline=share,
                          baseline_text=base, test_size=test_size, rare_in_test=rare_in_test, why=why)
    if brief.imbalanced:
        assumed = "" if brief.complete_counts else " (if the classes not named are of similar size)"
        balanced = 1 / brief.classes if brief.classes else None
        focus = (f"{kind} of '{rare}' at an operating point agreed with you, with " if kind in ("recall", "precision")
                 and rare != "the rare class" else "")
        return Acceptance(metric=f"{focus}macro-F1 (each class counts equally) and balanced accuracy, with recall "
                                 "per class",
                          threshold=target, baseline=share,
                          baseline_text=(f"Always answering {_quoted(major)} is right {_pct(share)} of the time"
                                         f"{assumed} and finds nothing of the other classes: in balanced accuracy "
                                         f"that is only {_pct(balanced)}." if share and balanced else
                                         "Always answering the largest class finds nothing of the others."),
                          test_size=test_size, rare_in_test=rare_in_test,
                          why="The classes are of very different sizes, so plain accuracy would hide the small ones.")
    chance = share or (1 / brief.classes if brief.classes else None)
    bar = target if target is not None and (chance is None or target > chance) else None
    assumed = "" if brief.complete_counts else ", if the classes are of similar size"
    base = (f"Always answering the largest class scores {_pct(chance)} accuracy{assumed}." if chance else "")
    return Acceptance(metric=metric if metric != "accuracy" else "accuracy, with macro-F1 and recall per class",
                      threshold=bar, baseline=chance, baseline_text=base, test_size=test_size,
                      why="The classes are of similar size, so accuracy is a fair headline; macro-F1 and the recall "
                          "of each class show whether one class is left behind.")
