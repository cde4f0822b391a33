"""The time estimate follows what the data is: text length, a separate test file, a final retrain."""
from __future__ import annotations

import pytest

from tladvisor.advice.budget import budget_config, fit_to_budget
from tladvisor.advice.estimate import length_factor, throughput


def test_text_speed_follows_token_length():
    """Measured rows are 128-token texts; one-line requests run several times faster, long e-mails slower."""
    assert length_factor(None, "embed") == 1.0 and length_factor(128, "train") == pytest.approx(1.0)
    factors = [length_factor(n, "embed") for n in (8, 16, 24, 48, 128, 200, 256, 512)]
    assert all(a >= b for a, b in zip(factors, factors[1:]))
    assert factors[1] > 5 and factors[-1] < 0.25
    short = throughput("minilm_l6", "text", "cpu", tokens=16)
    plain = throughput("minilm_l6", "text", "cpu")
    assert short.embed_per_s > 5 * plain.embed_per_s and short.train_per_s > 5 * plain.train_per_s
    # images do not have a token length
    assert throughput("efficientnet_lite0", "image", "cpu", tokens=16).embed_per_s == \
        throughput("efficientnet_lite0", "image", "cpu").embed_per_s


def test_mpnet_has_its_own_measured_cpu_speed():
    """all-mpnet-base-v2 is measured beside MiniLM (ratios), not guessed from its parameter count."""
    mpnet, minilm = throughput("mpnet_base", "text", "cpu"), throughput("minilm_l6", "text", "cpu")
    assert mpnet.measured_backbone == "mpnet_base" and mpnet.scale == 1.0
    assert 5 < minilm.embed_per_s / mpnet.embed_per_s < 12  # measured 7.7x in fp32


def test_the_estimate_takes_the_rows_of_this_kind_of_cpu(monkeypatch):
    """An AMX Xeon embeds texts ~2.8x faster than an AVX512-BF16 EPYC (both measured, and a plain EPYC in fp32): the
    estimate reads the rows of the CPU it runs on, falls back to the nearest measured kind with a note, and the override never changes the
    precision a run picks."""
    from tladvisor.advice import hardware
    from tladvisor.advice.advisor import advise
    from tladvisor.advice.brief import ProjectBrief
    from tladvisor.advice.estimate import estimate

    for flags, kind in (({"avx2", "amx_bf16", "avx512_bf16"}, "amx"), ({"avx512_bf16"}, "avx512_bf16"),
                        ({"avx2"}, "plain"), (set(), "plain")):
        monkeypatch.setattr(hardware, "_flags", lambda f=frozenset(flags): f)
        monkeypatch.delenv(hardware.ENV, raising=False)
        assert hardware.cpu_kind() == kind and hardware.has_native_bf16() == (kind != "plain")
    monkeypatch.setattr(hardware, "_flags", lambda: frozenset({"avx2"}))
    monkeypatch.setenv(hardware.ENV, "amx")
    assert hardware.cpu_kind() == "amx" and not hardware.has_native_bf16()  # estimates for an AMX box, runs fp32

    speeds = {}
    for kind in ("amx", "avx512_bf16", "plain"):
        monkeypatch.setenv(hardware.ENV, kind)
        speeds[kind] = throughput("minilm_l6", "text", "cpu", "bf16")
    assert speeds["amx"].cpu_kind == "amx" and speeds["avx512_bf16"].cpu_kind == "avx512_bf16"
    assert speeds["amx"].embed_per_s > 2 * speeds["avx512_bf16"].embed_per_s
    assert speeds["plain"].cpu_kind == "avx512_bf16"  # no bf16 measured on it: the nearest kind stands in

    brief = ProjectBrief(task="text-classification", classes=77, per_class=130)
    times = {}
    files = {"amx": "--n 128)", "avx512_bf16": "--out throughput_avx512bf16", "plain": "--out throughput_plain"}
    for kind in ("amx", "avx512_bf16", "plain"):
        monkeypatch.setenv(hardware.ENV, kind)
        est = estimate(advise(brief), "cpu")  # fp32, what a CPU run is quoted at: measured on every kind
        times[kind] = est.seconds
        assert "not measured yet" not in " ".join(est.notes)
        assert files[kind] in est.basis  # the basis names the measured machine
    assert times["avx512_bf16"] > times["amx"]
    borrowed = estimate(advise(brief), "cpu", "bf16")  # a plain CPU has no bf16 row of its own
    assert "not measured yet" in " ".join(borrowed.notes) and files["avx512_bf16"] in borrowed.basis
    # every CPU row names a known kind, and every kind with rows says where it was measured
    from tladvisor.advice.estimate import _table

    kinds = {r.get("cpu_kind") for r in _table()["rows"] if r["compute"] == "cpu"}
    assert kinds <= set(hardware.CPU_KINDS) and kinds <= set(_table()["measured"]["cpu"])


def test_budget_counts_short_texts_the_test_file_and_the_retrain():
    """BANKING77-like data: 10,000 one-line texts fit MiniLM's LoRA stage in 10 minutes once their length is
    known (at 128 tokens it is dropped); a separate test file and a final retrain on train + validation add to
    the estimate."""
    plan = ["linear_probe", "lora"]
    unknown = fit_to_budget("text", "minilm_l6", 10_000, plan, 16, 10)
    short = fit_to_budget("text", "minilm_l6", 10_000, plan, 16, 10, tokens=17)
    assert unknown.plan == ["linear_probe"] and "dropped" in unknown.notes[0]
    assert short.plan == plan and short.estimate_s <= 600
    mpnet = fit_to_budget("text", "mpnet_base", 10_000, ["linear_probe"], 16, 10, tokens=17)
    assert mpnet.estimate_s < fit_to_budget("text", "mpnet_base", 10_000, ["linear_probe"], 16, 10).estimate_s / 3
    base = fit_to_budget("text", "minilm_l6", 800, plan, 4, None, tokens=17)
    with_test = fit_to_budget("text", "minilm_l6", 800, plan, 4, None, tokens=17, test_examples=3000)
    with_retrain = fit_to_budget("text", "minilm_l6", 800, plan, 4, None, tokens=17, retrain_share=0.9)
    assert with_test.estimate_s > base.estimate_s and with_retrain.estimate_s > base.estimate_s * 1.3


def test_text_classification_keeps_a_one_epoch_fine_tuning_stage(monkeypatch):
    """A text classifier's head is re-fitted on the tuned encoder, so one epoch already pays: where one epoch of
    LoRA fits the budget but two do not, a text-classification plan keeps it (1 epoch); other tasks (here NER)
    still need 2 epochs or drop the stage."""
    from tladvisor.advice import hardware
    from tladvisor.schemas import TrainConfig

    monkeypatch.setenv(hardware.ENV, "avx512_bf16")
    plan = ["linear_probe", "lora"]
    text = TrainConfig(modality="text", data="x.csv", backbone="mpnet_base", strategy="auto", plan=plan, epochs=4)
    ner = text.model_copy(update={"task": "ner"})
    sized = lambda cfg, n: budget_config(cfg, n, 10, tokens=20, run_precision="bf16")  # noqa: E731
    sizes = [n for n in range(1000, 40_000, 250)
             if sized(text, n)[0].epochs == 1 and sized(ner, n)[0].stages() == ["linear_probe"]]
    assert sizes, "no data size where text keeps one epoch and NER drops the stage"
    kept_cfg, kept = sized(text, sizes[0])
    assert kept_cfg.stages() == plan and kept.estimate_s <= 600 and "cut from 4 to 1" in kept.notes[0]
    assert "2 epochs would take" in sized(ner, sizes[0])[1].notes[0]
    # far past the budget even one epoch is dropped, and the note says one
    huge_cfg, huge = sized(text, 200_000)
    assert huge_cfg.stages() == ["linear_probe"] and "1 epoch would take" in huge.notes[0]


def test_the_text_head_fit_estimate_grows_with_the_data_but_cheaper_per_example_on_large_sets():
    """From 4,000 cross-validated rows the probe runs 3 parallel folds: measured per example it costs about half.
    The estimate follows that without ever shrinking as the data grows."""
    from tladvisor.advice.estimate import head_fit_seconds

    sizes = list(range(500, 30_000, 250))
    fits = [head_fit_seconds(n, 0.0, "text") for n in sizes]
    assert all(b >= a for a, b in zip(fits, fits[1:]))
    assert fits[sizes.index(2000)] / 2000 > 1.5 * fits[sizes.index(13000)] / 13000
    assert 30 < head_fit_seconds(11036, 0.0, "text") < 60  # HWU64 on the default plan measured 44 s


def test_budget_config_records_the_estimate_for_the_model_card():
    from tladvisor.schemas import TrainConfig

    config = TrainConfig(data="x.csv", modality="text", backbone="minilm_l6", strategy="auto",
                         plan=["linear_probe", "lora"], epochs=4, retrain_on_all=True)
    sized, plan = budget_config(config, 800, 10, tokens=20, test_examples=300)
    assert sized.budget_estimate_s == plan.estimate_s and plan.estimate_s > 0
    unlimited, plan2 = budget_config(config, 800, None, tokens=20)
    assert unlimited.budget_estimate_s == plan2.estimate_s and unlimited.budget_minutes is None


def test_padded_tokens_measures_the_data_with_the_backbone_tokenizer():
    from tladvisor.training.text_models import padded_tokens

    short = padded_tokens(["where is my card?", "top up failed", "hi"] * 40, "minilm_l6")
    long = padded_tokens(["the parcel never arrived and nobody answers the phone " * 8] * 50, "minilm_l6")
    assert 3 <= short <= 10 and 60 <= long <= 256
    assert padded_tokens(["word " * 2000] * 3, "minilm_l6", max_length=64) == 64  # truncated as training does
    assert padded_tokens([], "minilm_l6") is None


def test_the_plan_is_sized_at_the_precision_this_processor_runs():
    """On a processor with native bf16 an 'auto' run trains in bf16 (EfficientNet-Lite0 embeds 2.1-2.4x faster): the CLI
    and the app pass the resolved precision, so the estimate and the epochs follow it; without it, fp32 stands."""
    from tladvisor.schemas import TrainConfig
    from tladvisor.training.engine import resolve_precision

    cfg = TrainConfig(modality="image", data="x", backbone="efficientnet_lite0", strategy="auto",
                      plan=["linear_probe", "lora"], epochs=30, precision="auto")
    fp32_cfg, fp32 = budget_config(cfg, 3000, 10)
    bf16_cfg, bf16 = budget_config(cfg, 3000, 10, run_precision="bf16")
    assert fp32_cfg.budget_estimate_s == budget_config(cfg, 3000, 10, run_precision="fp32")[1].estimate_s
    probe_only = lambda p: fit_to_budget("image", "efficientnet_lite0", 3000, ["linear_probe"], 1, None,
                                         p).estimate_s  # noqa: E731
    assert probe_only("fp32") > 1.8 * probe_only("bf16")  # AMX rows 2.3x, AVX512-BF16 rows 1.9x
    # 3,000 images, 10 minutes: LoRA gets more epochs at bf16 than at fp32 (both train at the end-to-end CPU cap;
    # the probe and the validation passes embed faster in bf16)
    assert bf16_cfg.epochs > fp32_cfg.epochs and bf16.estimate_s <= 600
    assert resolve_precision("auto") in ("bf16", "fp32") and resolve_precision("fp32") == "fp32"


def _photos(root, side: int, count: int = 4):
    """Noisy photo-like JPEGs (sensor noise keeps them large, as real photos are)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for k in range(count):
        (root / f"c{k % 2}").mkdir(parents=True, exist_ok=True)
        img = rng.normal(128, 30, (side * 3 // 4, side, 3)).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(root / f"c{k % 2}" / f"{k}.jpg", quality=92)
    return root


def test_large_photos_decode_slower_and_the_estimate_counts_it(tmp_path):
    """A 12-megapixel photo takes longer to decode than EfficientNet-Lite0 takes to embed it on a CPU: the decode time
    is measured on a sample of the client's files (folder or zip, unzipped in memory) and added per image."""
    import shutil

    from tladvisor.data_volume import image_decode_seconds

    small = image_decode_seconds(str(_photos(tmp_path / "small", 320)))
    large_dir = _photos(tmp_path / "large", 4000)
    large = image_decode_seconds(str(large_dir))
    zipped = image_decode_seconds(shutil.make_archive(str(tmp_path / "large"), "zip", large_dir))
    assert small is not None and large is not None and zipped is not None
    assert large > 4 * small and zipped > 4 * small
    assert image_decode_seconds(str(tmp_path / "missing")) is None
    from tladvisor.data_volume import _spread

    assert _spread(list(range(5)), 12) == [0, 1, 2, 3, 4] and _spread(list(range(100)), 3) == [0, 50, 99]
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.jpg").write_bytes(b"not a jpeg")
    assert image_decode_seconds(str(tmp_path / "junk")) is None

    plain = throughput("efficientnet_lite0", "image", "cpu", "bf16")
    slowed = throughput("efficientnet_lite0", "image", "cpu", "bf16", decode_s=0.03)
    assert slowed.embed_per_s == pytest.approx(1 / (1 / plain.embed_per_s + 0.03))
    assert slowed.model_embed_per_s == pytest.approx(plain.embed_per_s) and slowed.train_per_s < plain.train_per_s
    fast = fit_to_budget("image", "efficientnet_lite0", 1000, ["linear_probe"], 1, 10, "bf16")
    photos = fit_to_budget("image", "efficientnet_lite0", 1000, ["linear_probe"], 1, 10, "bf16", decode_s=0.03)
    assert photos.estimate_s > fast.estimate_s + 25 and "decoding the images counted" in photos.notes[0]
    assert not fast.notes


def test_an_epoch_running_at_the_deadline_stops_there_and_is_still_scored():
    """The first epoch has no pace to predict it by: at the deadline it stops mid-way, is validated like a full
    one and its state kept, and no further epoch starts (the engine on a tiny classifier, one process)."""
    import time

    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    from tladvisor.training.engine import fit, make_accelerator

    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = (x[:, 0] > 0).long()
    model = nn.Linear(8, 2)
    train = DataLoader(TensorDataset(x, y), batch_size=16)
    val = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=32)
    events = []
    res = fit(model, [{"params": model.parameters(), "lr": 0.05}], train, val, accelerator=make_accelerator("fp32"),
              epochs=5, warmup_ratio=0.0, weight_decay=0.0, patience=5, stage="lora", progress=events.append,
              deadline=time.perf_counter() - 1.0)  # already spent
    assert res.stopped_by_budget and res.epochs_run == 1
    assert res.history[0]["steps_run"] == "1 of 16 (time budget)" and "val_macro_f1" in res.history[0]
    assert [e["event"] for e in events if e["event"] != "step"][-1] == "budget"
    assert res.best_val["val_macro_f1"] == res.history[0]["val_macro_f1"]
