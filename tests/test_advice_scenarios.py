"""Scenario tests: briefs a consultant would bring, and what the advice must say."""
import pytest

from tladvisor import ProjectBrief, advise
from tladvisor.advice.catalogue import get_backbone


def rec_for(**kw):
    return advise(ProjectBrief(**kw))


def test_headline_manufacturing_defects():
    """The brief's headline: 15 defect types x 200 images, commercial -> ImageNet CNN, FE then fine-tune, ~92%."""
    rec = rec_for(task="image-classification", domain="manufacturing", classes=15, per_class=200, commercial=True)
    primary = get_backbone(rec.primary.id)
    assert primary.family == "cnn" and "imagenet" in primary.domain_tags
    assert primary.commercial_use == "yes"
    strategies = [s.strategy for s in rec.plan]
    assert strategies[0] == "linear_probe"
    assert any(s in ("lora", "partial", "progressive", "full") for s in strategies[1:])
    lo, hi = rec.expectation.band
    assert lo <= 0.92 <= hi, rec.expectation.band  # the brief's headline (~92%) is inside
    told = rec_for(task="image-classification", domain="manufacturing", classes=15, per_class=200, commercial=True,
                   difficulty="obvious").expectation.band
    assert told[1] - told[0] < hi - lo  # knowing the difficulty narrows it
    assert "IMG-VOL-FE" in rec.fired_rule_ids and "LICENCE-COMMERCIAL" in rec.fired_rule_ids
    # more data must be forecast to help
    assert [f.multiplier for f in rec.expectation.forecast] == [2, 5]
    assert rec.expectation.forecast[0].band[0] > lo and rec.expectation.forecast[1].band[0] > rec.expectation.forecast[0].band[0]
    # learning rate below from-scratch and warmup on the fine-tuning stage
    assert "WARMUP" in rec.fired_rule_ids and rec.hyperparams.warmup_ratio > 0
    assert {m.id for m in rec.messages} == {"setting_expectations", "data_efficiency", "ongoing_improvement"}
    assert all("{" not in m.text for m in rec.messages), [m.text for m in rec.messages]
    assert rec.primary.name in " ".join(m.text for m in rec.messages)


def test_twenty_per_class_gets_feature_extraction_and_gap_warning():
    rec = rec_for(task="image-classification", domain="manufacturing", classes=6, per_class=20, commercial=True)
    assert rec.plan[0].strategy == "linear_probe"
    assert "IMG-VOL-LOW" in rec.fired_rule_ids
    assert any("20" in g and "100" in g for g in rec.data_gaps), rec.data_gaps
    more = rec_for(task="image-classification", domain="manufacturing", classes=6, per_class=200, commercial=True)
    assert rec.expectation.band[0] < more.expectation.band[0]  # less data: a lower floor


def test_few_shot_images_only_probe():
    rec = rec_for(task="image-classification", classes=3, per_class=8, commercial=False)
    assert [s.strategy for s in rec.plan] == ["linear_probe"]


def test_few_shot_text_probe_then_lora_retrained_on_every_example():
    rec = rec_for(task="text-classification", domain="customer-service", classes=77, per_class=10, commercial=True)
    assert [s.strategy for s in rec.plan] == ["linear_probe", "lora"]
    assert "TXT-SCHED-FEWSHOT" in rec.fired_rule_ids
    cfg = rec.to_train_config("intents.csv")
    assert cfg.retrain_on_all and cfg.epochs == 16
    assert not rec_for(task="text-classification", classes=77, per_class=130).to_train_config("x.csv").retrain_on_all


def test_biomedical_text_commercial_gets_licensed_biomedical_encoder():
    rec = rec_for(task="text-classification", domain="biomedical", classes=5, per_class=300, commercial=True)
    primary = get_backbone(rec.primary.id)
    assert "biomedical" in primary.domain_tags and primary.commercial_use == "yes"
    rejected = {r.id: r.reason for r in rec.rejected}
    assert "biobert" in rejected and "unknown" in rejected["biobert"]


def test_biomedical_text_non_commercial_may_use_biobert_family():
    rec = rec_for(task="text-classification", domain="biomedical", classes=5, per_class=300, commercial=False)
    assert "biomedical" in get_backbone(rec.primary.id).domain_tags
    assert rec.rejected == []


def test_finance_sentiment_commercial_falls_back_to_general_with_reason():
    rec = rec_for(task="sentiment", domain="finance", classes=3, per_class=500, commercial=True)
    assert rec.primary.id != "finbert"
    assert get_backbone(rec.primary.id).commercial_use == "yes"
    finbert = [r for r in rec.rejected if r.id == "finbert"]
    assert finbert and "licence" in finbert[0].reason and "FinBERT" in rec.licence.text


def test_finance_sentiment_non_commercial_uses_finbert():
    rec = rec_for(task="sentiment", domain="finance", classes=3, per_class=500, commercial=False)
    assert rec.primary.id == "finbert"
    assert rec.licence.status == "warning"  # unknown licence is flagged even when allowed


def test_legal_text_gets_legal_bert():
    rec = rec_for(task="text-classification", domain="legal", classes=8, per_class=400, commercial=True)
    assert rec.primary.id == "legalbert" and rec.primary.licence == "CC-BY-SA-4.0"


def test_clinical_ner_gets_clinical_encoder_and_token_plan():
    rec = rec_for(task="ner", domain="clinical", classes=6, total=800, commercial=True)
    assert rec.primary.id == "clinicalbert"
    assert rec.expectation.metric == "entity-level F1"
    assert "linear_probe" not in [s.strategy for s in rec.plan]
    assert "NER-VOL-OK" in rec.fired_rule_ids


def test_small_ner_corpus_flags_gap():
    rec = rec_for(task="ner", domain="legal", total=150, commercial=True)
    assert any("500-2,000" in g for g in rec.data_gaps)


def test_tabular_gets_gradient_boosting_not_deep_model():
    rec = rec_for(task="tabular-classification", domain="finance", classes=2, total=50_000, commercial=True)
    assert get_backbone(rec.primary.id).family == "gbdt"
    assert [s.strategy for s in rec.plan] == ["gbdt", "feature_transfer"]
    assert rec.expectation.band is None
    cfg = rec.to_train_config("data.csv")  # the engine trains it: gradient boosting, no network stage
    assert cfg.modality == "tabular" and cfg.task_kind == "tabular-classification"
    assert cfg.stages() == ["gradient_boosting"]


def test_untrainable_task_is_refused_by_name():
    rec = rec_for(task="tabular-regression", domain="finance", total=5_000, commercial=True)
    with pytest.raises(ValueError, match="tabular-regression"):
        rec.to_train_config("data.csv")


def test_ner_config_is_token_classification():
    cfg = rec_for(task="ner", domain="general", total=3_000, commercial=True).to_train_config("train.conll")
    assert cfg.task_kind == "token-classification" and cfg.stages() == ["full"]
    assert cfg.epochs == 10 and cfg.lr == 1e-4  # the ner row of the hyper-parameter table, NER-SCHED


def test_edge_deployment_gets_small_fast_backbone():
    rec = rec_for(task="image-classification", domain="retail", classes=10, per_class=5000, commercial=True, edge=True)
    primary = get_backbone(rec.primary.id)
    assert primary.speed == "fast" and primary.params_m < 10
    assert all(get_backbone(a.id).speed != "slow" for a in rec.alternatives)
    # the same brief without the edge constraint may pick a larger model
    free = rec_for(task="image-classification", domain="retail", classes=10, per_class=5000, commercial=True)
    assert get_backbone(free.primary.id).params_m >= primary.params_m


def test_tight_latency_budget_counts_as_edge():
    rec = rec_for(task="text-classification", classes=4, per_class=2000, commercial=True, latency_ms=10,
                  compute="single_gpu")
    assert "EDGE-DEPLOY" in rec.fired_rule_ids and get_backbone(rec.primary.id).speed == "fast"


def test_keep_original_skills_uses_adapters_and_ewc():
    rec = rec_for(task="image-classification", domain="manufacturing", classes=4, per_class=2000,
                  commercial=True, keep_original=True)
    strategies = [s.strategy for s in rec.plan]
    assert "lora" in strategies and not {"full", "partial", "progressive"} & set(strategies)
    assert "FORGET-GUARD" in rec.fired_rule_ids
    assert any("EWC" in n for n in rec.notes)
    assert any("original-domain" in e for e in rec.evaluation_plan)


def test_non_commercial_candidate_in_commercial_project_rejected_with_licence():
    rec = rec_for(task="image-classification", domain="manufacturing", classes=4, per_class=800,
                  commercial=True, preferred_backbones=["convnextv2_tiny"])
    assert rec.primary.id != "convnextv2_tiny"
    [rej] = [r for r in rec.rejected if r.id == "convnextv2_tiny"]
    assert "CC-BY-NC-4.0" in rej.reason
    assert "CC-BY-NC-4.0" in rec.licence.text


def test_requested_backbone_is_used_when_licence_allows():
    rec = rec_for(task="image-classification", classes=4, per_class=800, commercial=False,
                  preferred_backbones=["convnextv2_tiny"])
    assert rec.primary.id == "convnextv2_tiny" and "requested" in rec.primary.why


def test_commercial_project_never_gets_unusable_primary():
    for domain in ["biomedical", "clinical", "finance", "legal", "scientific", "general"]:
        for task in ["text-classification", "ner"]:
            rec = rec_for(task=task, domain=domain, classes=5, per_class=300, total=1500, commercial=True)
            assert get_backbone(rec.primary.id).commercial_use == "yes", (domain, task)
            assert all(get_backbone(a.id).commercial_use == "yes" for a in rec.alternatives)


def test_unstated_commercial_use_is_treated_as_commercial():
    rec = rec_for(task="sentiment", domain="finance", classes=3, per_class=500)
    assert rec.primary.id != "finbert" and rec.licence.status == "warning"
    assert "LICENCE-UNSTATED" in rec.fired_rule_ids


def test_non_english_text_gets_multilingual_encoder():
    rec = rec_for(task="text-classification", classes=5, per_class=300, language="German", commercial=True)
    assert rec.primary.id == "xlm_roberta_base" and "LANG-MULTI" in rec.fired_rule_ids


def test_noisy_labels_lower_the_band_and_say_why():
    clean = rec_for(task="image-classification", classes=5, per_class=300, label_quality="clean")
    noisy = rec_for(task="image-classification", classes=5, per_class=300, label_quality="noisy")
    assert noisy.expectation.band[0] < clean.expectation.band[0]
    assert any("LABEL-QUALITY" in a for a in noisy.expectation.adjustments)


def test_far_domain_lowers_band_and_adds_risk():
    near = rec_for(task="image-classification", domain="manufacturing", classes=5, per_class=300)
    far = rec_for(task="image-classification", domain="satellite", classes=5, per_class=300)
    assert far.expectation.band[1] < near.expectation.band[1]
    assert "DOMAIN-FAR" in far.fired_rule_ids and far.risks


def test_small_images_get_low_resolution():
    rec = rec_for(task="image-classification", classes=10, per_class=300, image_size=32)
    assert rec.hyperparams.resolution == 128 and "RES-SMALL-IMAGES" in rec.fired_rule_ids


def test_every_fired_rule_has_a_filled_rationale():
    rec = rec_for(task="image-classification", domain="medical", classes=3, per_class=60, commercial=True,
                  unlabelled_data=True, label_quality="some_noise", edge=True, keep_original=True)
    assert rec.fired_rules
    for rule in rec.fired_rules:
        assert rule.why and "{" not in rule.why, rule


def test_fine_tuning_lr_is_10_to_100x_below_scratch():
    rec = rec_for(task="text-classification", classes=4, per_class=3000, commercial=True)
    hp = rec.hyperparams
    assert hp.strategy == "full"
    assert 10 <= hp.scratch_learning_rate / hp.learning_rate <= 100
    assert "LR-SMALL" in rec.fired_rule_ids


def test_to_train_config_carries_the_plan():
    rec = rec_for(task="image-classification", domain="manufacturing", classes=15, per_class=200, commercial=True)
    cfg = rec.to_train_config("data/defects.zip", out_dir="runs/x")
    assert cfg.modality == "image" and cfg.backbone == rec.primary.id
    assert cfg.stages() == ["linear_probe", "progressive"] and cfg.lr == rec.hyperparams.learning_rate
    assert cfg.layer_decay == rec.hyperparams.layer_decay == 0.7  # deeper layers learn more slowly
    assert cfg.resolution == 224
    assert cfg.model_validate_json(cfg.model_dump_json()) == cfg
    probe = rec.to_train_config("data/defects.zip", strategy="linear_probe", epochs=3)
    assert probe.stages() == ["linear_probe"] and probe.epochs == 3


def test_recommendation_json_roundtrip():
    from tladvisor import Recommendation

    rec = rec_for(task="text-classification", domain="customer-service", classes=77, per_class=130, commercial=True)
    again = Recommendation.model_validate_json(rec.model_dump_json())
    assert again == rec
