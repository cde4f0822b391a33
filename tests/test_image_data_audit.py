"""Image data in: safe zips, every image mode, clear errors, and an audit that finds planted problems."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagegen import make_image, make_image_folder
from tladvisor.training.errors import DataError
from tladvisor.training.image_audit import audit_images, scan_images
from tladvisor.training.image_data import discover_images, load_rgb, safe_extract_zip
from tladvisor.training.splits import split_items


def test_zip_slip_and_absolute_paths_are_refused(tmp_path):
    for bad in ("../evil.png", "/etc/evil.png", "ok/../../evil.png"):
        archive = tmp_path / "bad.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("a/x.png", b"fine")
            zf.writestr(bad, b"payload")
        with pytest.raises(DataError, match="refused unsafe entry"):
            safe_extract_zip(archive, tmp_path / "out")
        assert not (tmp_path / "evil.png").exists()


def test_zip_bomb_is_refused(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/big.png", b"\0" * (50 << 20))
    with pytest.raises(DataError, match="decompression bomb"):
        safe_extract_zip(archive, tmp_path / "out")


def test_not_a_zip_and_bad_layouts_get_clear_messages(tmp_path):
    junk = tmp_path / "data.zip"
    junk.write_text("not a zip")
    with pytest.raises(DataError, match="not a readable zip"):
        discover_images(junk, extract_to=tmp_path / "x")
    one = tmp_path / "one"
    make_image_folder(one, per_class=3, classes=("only",))
    with pytest.raises(DataError, match="at least 2 class folders"):
        discover_images(one)
    empty = tmp_path / "empty"
    make_image_folder(empty, per_class=3, classes=("a", "b"))
    (empty / "c").mkdir()
    with pytest.raises(DataError, match="no images: 'c'"):
        discover_images(empty)
    text = tmp_path / "labels.txt"
    text.write_text("x")
    with pytest.raises(DataError, match="expected a folder"):
        discover_images(text)
    with pytest.raises(DataError, match="no such file"):
        discover_images(tmp_path / "missing")


def test_zip_with_wrapper_folder_is_found(tmp_path):
    src = make_image_folder(tmp_path / "src" / "dataset", per_class=3)
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in src.rglob("*.png"):
            zf.write(f, f.relative_to(tmp_path / "src"))
        zf.writestr("__MACOSX/._junk", b"x")
    ds = discover_images(archive, extract_to=tmp_path / "out")
    assert ds.classes == ["horizontal", "spots", "vertical"] and len(ds.items) == 9


def test_every_image_mode_becomes_rgb(tmp_path):
    rng = np.random.default_rng(0)
    rgb = make_image("spots", rng)
    variants = {
        "gray.png": rgb.convert("L"),
        "rgba.png": rgb.convert("RGBA"),
        "palette.png": rgb.convert("P"),
        "cmyk.jpg": rgb.convert("CMYK"),
        "gray16.png": Image.fromarray((np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)),
        "bw.png": rgb.convert("1"),
    }
    for name, img in variants.items():
        img.save(tmp_path / name)
        out = load_rgb(str(tmp_path / name))
        assert out.mode == "RGB" and out.size == rgb.size, name
        assert np.asarray(out).std() > 5, name  # real content survived (16-bit not clipped to white)


def test_audit_finds_broken_duplicate_and_leaking_files(tmp_path):
    root = make_image_folder(tmp_path / "data", per_class=12)
    (root / "spots" / "truncated.png").write_bytes((root / "spots" / "spots_000.png").read_bytes()[:300])
    (root / "vertical" / "notanimage.jpg").write_text("hello")
    shutil.copy(root / "horizontal" / "horizontal_000.png", root / "horizontal" / "copy_of_000.png")
    near = Image.open(root / "vertical" / "vertical_001.png").point(lambda v: min(255, v + 3))
    near.save(root / "vertical" / "near_001.png")
    shutil.copy(root / "spots" / "spots_005.png", root / "vertical" / "mislabelled_copy.png")
    ds = discover_images(root)
    readable, stats, unreadable = scan_images(ds.items)
    assert sorted(Path(u["path"]).name for u in unreadable) == ["notanimage.jpg", "truncated.png"]
    # force the duplicates onto both sides of the split to check leakage detection
    for item in readable:
        item.split = "test" if Path(item.path).name in ("copy_of_000.png", "near_001.png") else "train"
    report = audit_images(readable, stats, ds.classes, unreadable, root=ds.root)
    exact = {tuple(sorted(Path(p).name for p in g)) for g in report.exact_duplicates}
    assert ("copy_of_000.png", "horizontal_000.png") in exact
    assert ("mislabelled_copy.png", "spots_005.png") in exact
    assert any({Path(p).name for p in g} == {"near_001.png", "vertical_001.png"} for g in report.near_duplicates)
    leaked = {frozenset((Path(x["a"]).name, Path(x["b"]).name)) for x in report.leakage}
    assert frozenset(("copy_of_000.png", "horizontal_000.png")) in leaked
    assert frozenset(("near_001.png", "vertical_001.png")) in leaked
    assert any("labelled 'spots' and 'vertical'" in w for w in report.warnings)
    md = report.to_markdown()
    assert "Unreadable (skipped): 2" in md and "Train/test leakage" in md


def test_decompression_bomb_image_is_skipped_not_decoded(tmp_path):
    root = make_image_folder(tmp_path / "d", per_class=3)
    Image.new("1", (12_000, 12_000)).save(root / "spots" / "bomb.png")  # 144 MP > 2 x the 64 MP limit
    ds = discover_images(root)
    readable, _, unreadable = scan_images(ds.items)
    assert [Path(u["path"]).name for u in unreadable] == ["bomb.png"]
    assert "DecompressionBomb" in unreadable[0]["error"] and len(readable) == 9


def test_audit_flags_imbalance_and_split_is_stratified_and_seeded(tmp_path):
    root = tmp_path / "d"
    make_image_folder(root, per_class=40, classes=("big",))
    make_image_folder(root, per_class=8, classes=("small",), seed=3)
    ds = discover_images(root)
    labels = [i.label for i in ds.items]
    a = split_items(ds.items, labels, 0.1, 0.2, seed=0)
    assert a == split_items(ds.items, labels, 0.1, 0.2, seed=0)
    assert a != split_items(ds.items, labels, 0.1, 0.2, seed=1)
    assert {s for s, l in zip(a, labels) if l == "small"} >= {"train", "test"}
    readable, stats, unreadable = scan_images(ds.items)
    report = audit_images(readable, stats, ds.classes, unreadable)
    assert report.imbalance_ratio == 5.0 and any("imbalance" in w for w in report.warnings)


def test_predefined_train_test_folders_are_respected(tmp_path):
    make_image_folder(tmp_path / "d" / "train", per_class=10)
    make_image_folder(tmp_path / "d" / "test", per_class=4, seed=9)
    ds = discover_images(tmp_path / "d")
    assert ds.predefined_split and {i.split for i in ds.items} == {"train", "test"}
    assert sum(i.split == "test" for i in ds.items) == 12


def test_large_jpegs_decode_at_reduced_scale_but_never_below_twice_the_input(tmp_path):
    """A 4,000 x 3,000 photo for a 224-px model: decoded at 1/4 scale (JPEG draft mode), still >= 448 px."""
    import numpy as np
    from PIL import Image

    from tladvisor.training.image_data import load_rgb

    big = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)).save(big, quality=85)
    full, small = load_rgb(str(big)), load_rgb(str(big), min_side=448)
    assert full.size == (4000, 3000)
    assert small.size[0] < 4000 and min(small.size) >= 448
    png = tmp_path / "photo.png"
    Image.open(big).resize((800, 600)).save(png)
    assert load_rgb(str(png), min_side=448).size == (800, 600)  # only JPEGs have a draft mode
