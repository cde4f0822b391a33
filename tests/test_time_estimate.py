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
