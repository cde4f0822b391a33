"""Small generated NER data for tests: people, cities and products in templated sentences (CoNLL and JSONL)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

PEOPLE = ["Anna Schmidt", "John Miller", "Maria Garcia", "Li Wei", "Omar Haddad", "Sofia Rossi", "Lukas Meyer",
          "Emma Brown", "Ivan Petrov", "Chloe Martin", "Ravi Kumar", "Nina Berg"]
CITIES = ["Berlin", "Madrid", "Chicago", "Lyon", "Osaka", "Porto", "Dublin", "Krakow", "Austin", "Leeds", "Turin",
          "Bergen"]
PRODUCTS = ["iPhone", "Galaxy Tab", "ThinkPad", "Kindle", "PlayStation", "Roomba", "Surface Pro", "Pixel Watch"]
TEMPLATES = ["{P} moved to {C} last year .", "yesterday {P} bought a {X} in {C}", "the {X} from {C} broke again",
             "{P} says the {X} is great", "meeting {P} in {C} tomorrow", "why does my {X} keep crashing",
             "{P} and {P2} flew to {C}", "nothing special happened today", "great weather in {C} !",
             "{P} reviewed the new {X}"]


def make_sentences(n: int, seed: int = 0) -> list[list[tuple[str, str]]]:
    """n sentences of (token, BIO tag) with PER, LOC and PRODUCT entities."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        template = TEMPLATES[rng.integers(len(TEMPLATES))]
        sent: list[tuple[str, str]] = []
        for word in template.split():
            fill = {"{P}": (PEOPLE, "PER"), "{P2}": (PEOPLE, "PER"), "{C}": (CITIES, "LOC"),
                    "{X}": (PRODUCTS, "PRODUCT")}.get(word)
            if fill is None:
                sent.append((word, "O"))
                continue
            names, typ = fill
            for k, tok in enumerate(names[rng.integers(len(names))].split()):
                sent.append((tok, ("B-" if k == 0 else "I-") + typ))
        out.append(sent)
    return out


def write_conll(path: Path, sentences: list[list[tuple[str, str]]], docstart: bool = True) -> Path:
    lines = ["-DOCSTART- O", ""] if docstart else []
    for s in sentences:
        lines += [f"{t}\t{g}" for t, g in s] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_span_jsonl(path: Path, sentences: list[list[tuple[str, str]]]) -> Path:
    """The same sentences as JSONL: text and character spans {start, end, label}."""
    rows = []
    for s in sentences:
        text, ents, pos = "", [], 0
        for tok, tag in s:
            if text:
                text += " "
            start = len(text)
            text += tok
            if tag.startswith("B-"):
                ents.append({"start": start, "end": len(text), "label": tag[2:]})
            elif tag.startswith("I-"):
                ents[-1]["end"] = len(text)
            pos += 1
        rows.append(json.dumps({"text": text, "entities": ents}))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
