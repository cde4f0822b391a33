"""Property-based tests (Hypothesis) over the data layer: whatever class counts, label spellings, file names and
image modes a client brings, reading, splitting and training end in a usable result or a clear DataError,
never another exception."""
from __future__ import annotations

import csv
import io
import json
import math
import string
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tladvisor.training.errors import DataError
from tladvisor.training.labels import MISSING_LABEL_TOKENS, normalise_label
from tladvisor.training.splits import assign_splits

QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])

# label spellings clients really send: words, codes, numbers in several spellings, HTML, other scripts, missing
missing_spellings = st.sampled_from(["", " ", "NaN", "nan", "NULL", "null", "None", "N/A", "n/a", "#N/A", "NA"])
label_text = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "_- ", min_size=1, max_size=20),
    st.sampled_from(["<script>alert(1)</script>", "Ärger", "défaut", "缺陷", "ok|defect", "a,b", 'quote"d',
                     "line\nbreak", "  padded  ", "1", "1.0", "01", "-3", "2.50", "1e3"]),
    st.integers(-5, 5).map(str), missing_spellings)


@QUICK
@given(label_text)
def test_normalise_label_is_idempotent_and_drops_only_missing(value):
    label = normalise_label(value)
    if label is None:
        assert " ".join(value.split()).lower() in MISSING_LABEL_TOKENS
    else:
        assert label == label.strip() and label and normalise_label(label) == label


@QUICK
@given(st.integers(-10**6, 10**6))
def test_numeric_labels_have_one_spelling(n):
    assert normalise_label(n) == normalise_label(str(n)) == normalise_label(float(n)) == normalise_label(f"{n}.0")


@QUICK
@given(counts=st.lists(st.integers(1, 50), min_size=2, max_size=100), seed=st.integers(0, 3),
       given_test=st.booleans())
def test_splits_for_any_class_counts(counts, seed, given_test):
    labels = [f"c{k}" for k, n in enumerate(counts) for _ in range(n)]
    fractions = {"val": 0.1} if given_test else {"val": 0.1, "test": 0.2}
    plan = assign_splits(labels, fractions, seed)
    assert plan.assignments == assign_splits(labels, fractions, seed).assignments  # seeded
    assert len(plan.assignments) == len(labels) and set(plan.assignments) <= {"train", *fractions}
    where = Counter(zip(plan.assignments, labels))
    for k, n in enumerate(counts):
        c = f"c{k}"
        assert where[("train", c)] >= 1  # every class is trained
        if n >= len(fractions) + 1:  # a class that can be in every split is
            assert all(where[(s, c)] >= 1 for s in fractions), (c, n, where)
        missing = [s for s in fractions if where[(s, c)] == 0]
        assert bool(missing) == any(note.startswith(f"class '{c}' ") for note in plan.notes)
    if "test" in fractions and sum(counts) >= 20 and min(counts) >= 3:
        assert abs(plan.assignments.count("test") / len(labels) - 0.2) < 0.12  # close to the asked fraction


@QUICK
@given(counts=st.lists(st.integers(1, 12), min_size=2, max_size=12), extra=st.integers(0, 4), seed=st.integers(0, 3))
def test_probe_folds_adapt_to_the_smallest_class(counts, extra, seed):
    from tladvisor.training.trainer import probe_folds

    y = np.array([k for k, n in enumerate(counts) for _ in range(n)] + [0] * extra)
    always = np.array([False] * sum(counts) + [True] * extra)
    folds = probe_folds(y, always, seed)
    scoreable = [k for k, n in enumerate(counts) if n >= 2]
    if len(scoreable) < 2:
        assert folds == []
        return
    assert 2 <= len(folds) <= min(5, min(counts[k] for k in scoreable))
    for train_idx, scored_idx in folds:
        assert set(y[train_idx]) == set(range(len(counts)))  # every class can be learned in every fold
        assert not always[scored_idx].any() and set(y[scored_idx]) <= set(scoreable)
        assert not set(train_idx) & set(scored_idx)


@QUICK
@given(counts=st.lists(st.integers(1, 900), min_size=1, max_size=30), size=st.integers(1, 400), seed=st.integers(0, 3))
def test_preprocessing_sample_keeps_every_class_in_proportion(counts, size, seed):
    """The 'auto' preprocessing comparison's sample: any class counts give distinct indices with every class present
    (at least min(its count, 5)), shares close to the data's, and the whole set when it is small enough."""
    from tladvisor.training.preprocess_choice import loo_macro_f1, stratified_sample

    y = np.array([k for k, n in enumerate(counts) for _ in range(n)])
    idx = stratified_sample(y, size, seed)
    assert len(set(idx.tolist())) == len(idx) and set(idx.tolist()) <= set(range(len(y)))
    got = np.bincount(y[idx], minlength=len(counts))
    if len(y) <= size:
        assert len(idx) == len(y)
    for k, n in enumerate(counts):
        assert got[k] >= min(n, 5) and got[k] <= max(min(n, 5), round(size * n / len(y)) + 1)
    feats = np.random.default_rng(seed).normal(size=(len(idx), 4))
    score = loo_macro_f1(feats, y[idx])  # one class, or singletons only: nothing to compare, never an exception
    assert (score is None) == (len(counts) < 2 or max(got) < 2) and (score is None or 0.0 <= score <= 1.0)


def _csv_bytes(rows: list[tuple[str, str]], header: tuple[str, ...], bom: bool, encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    if encoding != "utf-8":  # UTF-16 / UTF-32 always carry their mark (Excel's "Unicode Text")
        return buf.getvalue().encode(encoding)
    return ("\ufeff" if bom else "").encode() + buf.getvalue().encode("utf-8")


@QUICK
@given(rows=st.lists(st.tuples(st.text(max_size=40), label_text), max_size=40), bom=st.booleans(),
       header=st.sampled_from([("text", "label"), ("label", "text"), ("text", "text"), ("utterance", "label"),
                               ("text", "label", "text")]),
       fmt=st.sampled_from(["csv", "jsonl"]), encoding=st.sampled_from(["utf-8", "utf-8", "utf-16", "utf-32"]))
def test_reading_any_text_file_gives_rows_or_a_clear_error(tmp_path_factory, rows, bom, header, fmt, encoding):
    from tladvisor.training.text_data import read_labelled_texts

    path = tmp_path_factory.mktemp("t") / f"data.{fmt}"
    if fmt == "csv":
        path.write_bytes(_csv_bytes([r + (r[0],) * (len(header) - 2) for r in rows], header, bom, encoding))
        # what a reader of the file must find: blank lines skipped, duplicate column names refused
        records = [dict(zip(header, r)) for r in rows if any(c.strip() for c in r)]
        bad_header = len(set(header)) < len(header) or "text" not in header
    else:
        path.write_text("".join(json.dumps(dict(zip(header, r))) + "\n" for r in rows), encoding="utf-8")
        records = [dict(zip(header, r)) for r in rows]
        bad_header = "label" not in dict(zip(header, ("a", "b", "c"))) or "text" not in header
    expected = [(rec.get("text", ""), normalise_label(rec.get("label"))) for rec in records]
    kept = [(t, lab) for t, lab in expected if lab is not None and t.strip()]
    nul = fmt == "csv" and any("\x00" in c for r in rows for c in r)
    try:
        found = read_labelled_texts(path)
    except DataError as exc:
        assert "data." in str(exc)  # the message names the file
        assert bad_header or nul or not kept, (str(exc), rows)  # refused only for a reason
        return
    assert not bad_header and not nul and kept
    assert [(r.text, r.label) for r in found.rows] == kept
    assert len(found.missing_labels) == sum(lab is None for _, lab in expected)
    assert len(found.empty) == sum(lab is not None and not t.strip() for t, lab in expected)


IMAGE_MODES = ["RGB", "L", "RGBA", "P", "CMYK", "I;16", "1", "LA", "F"]
file_names = st.text(alphabet=string.ascii_letters + string.digits + " _-()éü<>'&", min_size=1, max_size=24)


def _write_image(path: Path, mode: str, size: tuple[int, int], rng: np.random.Generator) -> None:
    from PIL import Image

    arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    img = Image.fromarray(arr, "RGB")
    if mode == "I;16":
        img = Image.fromarray(arr[..., 0].astype(np.uint16) * 250)  # 16-bit grayscale
    elif mode == "F":
        img = img.convert("L").convert("F")
    elif mode != "RGB":
        img = img.convert(mode)
    fmt = {"CMYK": ".jpg", "F": ".tif", "I;16": ".png"}.get(mode, ".png")
    img.save(path.with_suffix(fmt))


@QUICK
@given(classes=st.lists(file_names, min_size=1, max_size=5, unique_by=lambda s: s.strip().lower()),
       per_class=st.lists(st.integers(0, 4), min_size=5, max_size=5), names=st.lists(file_names, min_size=4, max_size=4),
       modes=st.lists(st.sampled_from(IMAGE_MODES), min_size=4, max_size=4), broken=st.booleans(),
       side=st.sampled_from([1, 2, 17, 300]))
def test_discovering_and_scanning_any_image_folder(tmp_path_factory, classes, per_class, names, modes, broken, side):
    from tladvisor.training.image_audit import scan_images
    from tladvisor.training.image_data import discover_images

    assume(all(c.strip(" .") == c and c not in (".", "..") for c in classes))
    root = tmp_path_factory.mktemp("imgs") / "data"
    rng = np.random.default_rng(0)
    for c, n in zip(classes, per_class):
        (root / c).mkdir(parents=True, exist_ok=True)
        for k in range(n):
            _write_image(root / c / f"{names[k % 4]}_{k}", modes[k % 4], (side, max(1, side // 2)), rng)
    if broken and classes:
        (root / classes[0] / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    try:
        ds = discover_images(root)
    except DataError as exc:
        assert "data" in str(exc)
        return
    assert len(ds.classes) >= 2
    readable, stats, unreadable = scan_images(ds.items)
    assert len(readable) + len(unreadable) == len(ds.items)
    assert all(s["size"][0] >= 1 for s in stats)
    assert not broken or any("broken.jpg" in u["path"] for u in unreadable)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("feature-cache")


@SLOW
@given(n_classes=st.integers(2, 6), per_class=st.lists(st.integers(1, 8), min_size=6, max_size=6),
       spelling=st.sampled_from(["word", "number", "float", "html", "mixed-missing"]), seed=st.integers(0, 5))
def test_any_small_text_set_trains_or_is_refused_clearly(tmp_path_factory, cache_dir, monkeypatch, n_classes,
                                                         per_class, spelling, seed):
    """End to end: generated texts with 2-6 classes of 1-8 examples and odd label spellings train to a run whose
    metrics cover every class, or stop with a DataError."""
    pytest.importorskip("torch")
    from textgen import FILLERS

    from tladvisor.schemas import TrainConfig
    from tladvisor.training.trainer import train

    monkeypatch.setenv("TLADVISOR_CACHE", str(cache_dir))
    rng = np.random.default_rng(seed)
    spell = {"word": lambda k: f"class_{k}", "number": str, "float": lambda k: f"{k}.0",
             "html": lambda k: f"<b>c{k}</b>", "mixed-missing": lambda k: f"k{k}"}[spelling]
    rows = []
    for k in range(n_classes):
        for i in range(per_class[k]):
            rows.append((f"{FILLERS[(k * 3 + i) % len(FILLERS)]} topic {k} note {i}", spell(k)))
    if spelling == "mixed-missing":
        rows += [("no label here", "NaN"), ("nor here", ""), ("nor this", "NULL")]
    rng.shuffle(rows)
    out = tmp_path_factory.mktemp("e2e")
    data = out / "texts.csv"
    data.write_bytes(_csv_bytes(rows, ("text", "label"), False))
    config = TrainConfig(modality="text", task="text-classification", data=str(data), out_dir=str(out / "run"),
                         backbone="minilm_l6", strategy="linear_probe", precision="fp32", seed=seed,
                         label_names=False)
    try:
        res = train(config)
    except DataError as exc:
        assert "example" in str(exc) or "class" in str(exc)
        assert not (out / "run").exists()  # a refused run leaves nothing behind
        return
    assert set(res.metrics["per_class"]) == {normalise_label(spell(k)) for k in range(n_classes)}
    assert res.metrics["n"] >= 1 and 0.0 <= res.metrics["accuracy"] <= 1.0
    assert not math.isnan(res.metrics["macro_f1"])
    audit = json.loads((Path(res.run_dir) / "audit.json").read_text())
    if spelling == "mixed-missing":
        assert len(audit["missing_labels"]) == 3
    if spelling == "html":  # a label that is HTML stays text in every report
        from tladvisor.reporting.client_report import write_client_report

        _, report, _ = write_client_report(res.run_dir)
        for page in (report, Path(res.run_dir) / "audit.md"):
            text = page.read_text(encoding="utf-8")
            assert "<b>c0</b>" not in text and "&lt;b&gt;c0&lt;/b&gt;" in text


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(classes=st.lists(file_names, min_size=2, max_size=4, unique_by=lambda s: s.strip().lower()),
       per_class=st.lists(st.integers(1, 6), min_size=4, max_size=4),
       modes=st.lists(st.sampled_from(IMAGE_MODES), min_size=4, max_size=4), zipped=st.booleans())
def test_any_small_image_set_trains_or_is_refused_clearly(tmp_path_factory, cache_dir, monkeypatch, classes,
                                                          per_class, modes, zipped):
    """End to end: 2-4 classes of 1-6 images in any mode and with odd file and class names, as a folder or a
    zip, train to a run covering every class, or stop with a DataError that leaves no run directory."""
    pytest.importorskip("torch")
    import zipfile

    from tladvisor.schemas import TrainConfig
    from tladvisor.training.trainer import train

    assume(all(c.strip(" .") == c for c in classes))
    monkeypatch.setenv("TLADVISOR_CACHE", str(cache_dir))
    out = tmp_path_factory.mktemp("img-e2e")
    rng = np.random.default_rng(len(classes))
    for k, c in enumerate(classes):
        (out / "data" / c).mkdir(parents=True)
        for i in range(per_class[k]):
            _write_image(out / "data" / c / f"{c[:8]} {i}", modes[(i + k) % 4], (24 + i, 20), rng)
    data = out / "data"
    if zipped:
        with zipfile.ZipFile(out / "data.zip", "w") as zf:
            for f in sorted(data.rglob("*")):
                zf.write(f, f.relative_to(out))
        data = out / "data.zip"
    config = TrainConfig(modality="image", data=str(data), out_dir=str(out / "run"), backbone="efficientnet_lite0",
                         strategy="linear_probe", resolution=32, precision="fp32")
    try:
        res = train(config)
    except DataError as exc:
        assert "example" in str(exc) or "class" in str(exc)
        assert not (out / "run").exists()
        return
    assert set(res.metrics["per_class"]) == set(classes)
    assert (Path(res.run_dir) / "model" / "model_info.json").exists()


@pytest.mark.parametrize("ending", [b"\r\n", b"\r", b"\n"])
def test_task_detection_reads_every_line_ending(tmp_path, ending):
    """Windows, old Mac and Unix line ends, alone or mixed in one file (a bare \\r once crashed detection)."""
    from tladvisor.data_volume import detect_task

    texts = [f"the parcel number {i} arrived damaged again,{'a' if i % 2 else 'b'}".encode() for i in range(12)]
    mixed = tmp_path / "texts.csv"
    mixed.write_bytes(b"text,label" + ending + ending.join(texts[:6]) + b"\r" + b"\r".join(texts[6:]) + b"\r")
    assert detect_task(str(mixed)) == "text-classification"
    table = tmp_path / "rows.csv"
    table.write_bytes(b"x1,x2,label" + ending + ending.join(f"{i},{i * 2},{i % 2}".encode() for i in range(12)))
    assert detect_task(str(table)) == "tabular-classification"
