"""Build public text-classification sets as `text,label` CSVs from GitHub snapshots (see SOURCES.md).

    python bench/data/text_sets.py MIRROR_ROOT OUT_DIR

MIRROR_ROOT holds the snapshots fetched with the library's `fetch` (one git directory per repository, named
`owner+name/repo`): clinc/oos-eval (CLINC150, CC BY 3.0), xliuhw/NLU-Evaluation-Data (HWU64, CC BY 4.0),
sonos/nlu-benchmark (SNIPS 2017, CC0), regularized-dp/regularized-data-programming (YouTube spam, CC BY 4.0)
and amazon-science/amazon-multilingual-counterfactual-dataset (German and English product-review sentences,
counterfactual or not; CC BY-NC 4.0: benchmarking only). Writes OUT_DIR/NAME.csv for each. Reading the git
objects directly (`git show`) needs no work tree.
"""
from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from pathlib import Path

SNIPS_PER_CLASS = 300  # of ~1,900 per intent: a project of a few hundred per class, like a client's


def _git(repo: Path, *args: str) -> str:
    raw = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # some SNIPS files are Latin-1
        return raw.decode("latin-1")


def clinc150(repo: Path) -> list[tuple[str, str]]:
    """The 150 in-scope intents, train + val + test pooled (100 + 20 + 30 per intent); out-of-scope left out."""
    data = json.loads(_git(repo, "show", "HEAD:data/data_full.json"))
    return [(text, label) for split in ("train", "val", "test") for text, label in data[split]]


def hwu64(repo: Path) -> list[tuple[str, str]]:
    """HWU64: the union of the ten cross-validation test folds of the annotated data (the full CSV is too large
    for the snapshot); intents named scenario_intent, duplicates (same text, same intent) kept once."""
    names = [n for n in _git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
             if "autoGeneFromRealAnno" in n and "/testset/annotated/" in n and n.endswith(".json")]
    seen: set[tuple[str, str]] = set()
    rows = []
    for name in sorted(names):
        for item in json.loads(_git(repo, "show", f"HEAD:{name}"))["test_data_annotation"]:
            key = (item["text"].strip(), item["intent"])
            if key[0] and key not in seen:
                seen.add(key)
                rows.append(key)
    return rows


def snips(repo: Path, seed: int = 0) -> list[tuple[str, str]]:
    """SNIPS 2017's seven intents: a seeded sample of SNIPS_PER_CLASS utterances each from the *_full training
    files (the entity spans joined back into the sentence)."""
    rng = random.Random(seed)
    base = "2017-06-custom-intent-engines"
    intents = [n.split("/")[1] for n in _git(repo, "ls-tree", "-r", "--name-only", "HEAD", base).splitlines()
               if n.endswith("_full.json") and "/train_" in n]
    rows = []
    for intent in sorted(set(intents)):
        items = json.loads(_git(repo, "show", f"HEAD:{base}/{intent}/train_{intent}_full.json"))[intent]
        texts = sorted({"".join(part["text"] for part in it["data"]).strip() for it in items} - {""})
        rows += [(t, intent) for t in rng.sample(texts, min(SNIPS_PER_CLASS, len(texts)))]
    return rows


def tubespam(repo: Path) -> list[tuple[str, str]]:
    """YouTube Spam Collection (1,956 comments), the repository's train + val + test pooled; labels named."""
    rows = []
    for split in ("train", "val", "test"):
        text = _git(repo, "show", f"HEAD:data/TubeSpam/TubeSpam_{split}.csv")
        rows += [(r["text"], "spam" if r["label"] == "1" else "ham") for r in csv.DictReader(text.splitlines())]
    return rows


def counterfactual(repo: Path, lang: str) -> list[tuple[str, str]]:
    """Amazon product-review sentences in `lang` (DE or EN), counterfactual or not; train + valid + test pooled."""
    rows = []
    for split in ("train", "valid", "test"):
        text = _git(repo, "show", f"HEAD:data/{lang}_{split}.tsv")
        rows += [(r["sentence"], "counterfactual" if r["is_counterfactual"] == "1" else "factual")
                 for r in csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)]
    return rows


def main() -> int:
    mirror, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    builders = {"clinc150": (clinc150, "clinc+oos-eval"), "hwu64": (hwu64, "xliuhw+NLU-Evaluation-Data"),
                "snips": (snips, "sonos+nlu-benchmark"),
                "tubespam": (tubespam, "regularized-dp+regularized-data-programming"),
                "counterfactual_de": (lambda r: counterfactual(r, "DE"), "amazon-science+amazon-multilingual-counterfactual-dataset"),
                "counterfactual_en": (lambda r: counterfactual(r, "EN"), "amazon-science+amazon-multilingual-counterfactual-dataset")}
    for name, (build, folder) in builders.items():
        rows = build(mirror / folder / "repo")
        with (out / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["text", "label"])
            w.writerows(rows)
        counts: dict[str, int] = {}
        for _, label in rows:
            counts[label] = counts.get(label, 0) + 1
        print(f"{name}: {len(rows)} rows, {len(counts)} classes, per class {min(counts.values())}-"
              f"{max(counts.values())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
