"""The brief's validation messages and the knowledge base's integrity."""
import re
import subprocess
import sys

import pytest
from pydantic import ValidationError

from tladvisor import ProjectBrief, advise
from tladvisor.advice.advisor import BriefIncompleteError
from tladvisor.advice.brief import format_validation_error
from tladvisor.advice.catalogue import UnknownBackboneError, get_backbone, load_catalogue
from tladvisor.advice.knowledge import markdown_documents
from tladvisor.advice.rules import interpolate_band, load_rules


def test_bad_fields_get_one_clear_message_each():
    with pytest.raises(ValidationError) as info:
        ProjectBrief(task="dancing", domain="mars", classes=1, per_class=-3, latency_ms=0)
    msg = format_validation_error(info.value)
    for field in ("task", "domain", "classes", "per_class", "latency_ms"):
        assert re.search(rf"\b{field}:", msg), msg
    assert "manufacturing" in msg  # lists the known domains


def test_aliases_and_derived_volume():
    b = ProjectBrief(task="Image", domain="Car parts", classes=15, total=3000, label_quality="good", language="English")
    assert (b.task, b.domain, b.per_class, b.label_quality, b.language) == (
        "image-classification", "manufacturing", 200, "clean", "en")


def test_unknown_backbone_suggests_close_ids():
    with pytest.raises(UnknownBackboneError, match="did you mean.*resnet50"):
        get_backbone("resnet-50")
    with pytest.raises(ValidationError, match="unknown backbone"):
        ProjectBrief(task="image", preferred_backbones=["no_such_model"])


def test_incomplete_brief_says_what_is_missing():
    with pytest.raises(BriefIncompleteError, match="classes.*per_class"):
        advise(ProjectBrief(task="image-classification"))


def test_catalogue_is_broad_and_honest():
    cat = load_catalogue()
    assert len(cat) >= 25
    by_modality = {m: [b for b in cat if b.modality == m] for m in ("image", "text", "tabular")}
    assert all(by_modality.values())
    for name in ("resnet18", "resnet50", "efficientnet_b0", "efficientnet_lite0", "mobilenetv3_large", "convnext_tiny",
                 "vit_base_patch16", "dinov2_small", "bert_base", "roberta_base", "deberta_v3_base", "distilbert_base",
                 "minilm_l6", "biobert", "scibert", "clinicalbert", "legalbert", "finbert", "tabnet", "saint",
                 "hist_gradient_boosting"):
        get_backbone(name)
    spdx = {"Apache-2.0", "MIT", "BSD-3-Clause", "CC-BY-NC-4.0", "CC-BY-SA-4.0", "unknown"}
    for b in cat:
        assert b.licence in spdx, b.id
        if b.licence == "unknown":
            assert b.commercial_use == "unknown", b.id  # unknown is never treated as allowed
        if b.licence.startswith("CC-BY-NC"):
            assert b.commercial_use == "no", b.id
        if b.offline:
            assert b.offline_package or b.source == "sklearn", b.id
    offline = {b.id for b in cat if b.offline and b.source in ("timm", "hf")}
    assert offline == {"efficientnet_lite0", "minilm_l6", "mpnet_base"}


def test_rules_are_unique_and_every_fired_rule_exists():
    book = load_rules()
    ids = [r.id for r in book.rules]
    assert len(ids) == len(set(ids)) and len(ids) >= 25
    assert interpolate_band([[100, 0.7, 0.9], [500, 0.8, 0.95]], 50) == (0.7, 0.9)
    lo, hi = interpolate_band([[100, 0.7, 0.9], [500, 0.8, 0.95]], 250)
    assert 0.7 < lo < 0.8 and 0.9 < hi < 0.95


def test_guides_and_messages_exist():
    guides = markdown_documents("guides")
    titles = " ".join(meta.get("title", "") for _, meta, _ in guides).lower()
    for topic in ("scratch", "how much labelled data", "lora", "licence", "backbone"):
        assert topic in titles, topic
    ids = {meta["id"] for _, meta, _ in markdown_documents("messaging")}
    assert ids == {"setting_expectations", "data_efficiency", "ongoing_improvement"}


def test_advice_layer_does_not_import_torch():
    code = ("import sys, tladvisor; from tladvisor import advise, ProjectBrief; "
            "advise(ProjectBrief(task='image', classes=3, per_class=100)); "
            "from tladvisor.advice.summary import scoping_summary_html; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
