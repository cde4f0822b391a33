"""Small generated text data sets for tests: customer intents phrased many ways."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

INTENTS = {
    "refund": ["I want my money back for {x}", "please refund the {x} I returned", "how do I get a refund for {x}",
               "the {x} was faulty, I need a refund", "can you reimburse me for the {x}"],
    "lost_card": ["I lost my card near the {x}", "my card was stolen at the {x}", "I can't find my bank card since the {x}",
                  "someone took my card in the {x}", "block my card, I lost it at the {x}"],
    "balance": ["what is my balance after the {x}", "how much money is left after buying the {x}",
                "show my account balance, I paid for the {x}", "check how much I have before the {x}",
                "tell me my current balance, {x} included"],
}
FILLERS = ["shoes", "station", "laptop", "market", "airport", "concert", "jacket", "cafe", "train", "hotel", "phone",
           "gym", "taxi", "museum", "bakery", "cinema"]


def make_rows(per_class: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    rows = []
    for label, templates in INTENTS.items():
        for _ in range(per_class):
            text = templates[rng.integers(len(templates))].format(x=FILLERS[rng.integers(len(FILLERS))])
            if rng.random() < 0.3:
                text = "hi, " + text
            rows.append((text, label))
    rng.shuffle(rows)
    return rows


def write_csv(path: Path, rows, text_col: str = "text", label_col: str = "label", delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow([text_col, label_col])
        w.writerows(rows)
    return path
