"""The chat understands real clients: slot accuracy on a corpus of 259 realistic messages (English, German,
French, Spanish; typos, number words, ranges, negations, counts per named class), and no message, however
odd, ends the conversation."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tladvisor.chat.corpus_eval import load_corpus, run_row, score
from tladvisor.chat.dialogue import ChatState, DialogueManager, brief_card, split_question

CORPUS = Path(__file__).parent / "data" / "chat_corpus.yaml"


@pytest.fixture(scope="module")
def dm() -> DialogueManager:
    return DialogueManager(semantic=True)


def test_corpus_slot_accuracy_overall_and_per_language(dm):
    rows = load_corpus(CORPUS)
    assert len(rows) >= 250 and {r[0] for r in rows} == {"en", "de", "fr", "es"}
    results = [run_row(dm, *row) for row in rows]
    report = score(results)
    misses = [f"{r.language}: {r.message} -> {r.wrong} (got {r.got})" for r in results if r.wrong]
    assert report["crashes"] == 0, misses
    assert report["accuracy"] >= 0.95, misses
    for lang, entry in report["per_language"].items():
        assert entry["accuracy"] >= 0.90, (lang, misses)


@pytest.mark.parametrize("message,expected", [
    ("Must not use anything non-commercial", {"commercial": True}),
    ("This is not for commercial use", {"commercial": False}),
    ("twenty thousand product reviews", {"total": 20000}),
    ("60 images of bad and 900 of good", {"classes": 2, "total": 960}),
    ("Custmer suport tikets, 10 catgories, arround 300 per catgory", {"classes": 10, "per_class": 300}),
    ("500 Fotos pro Klasse von 6 Fehlerarten", {"classes": 6, "per_class": 500, "domain": "manufacturing"}),
    ("200 images par classe", {"per_class": 200}),
    ("Academic research on chest X-rays", {"domain": "medical", "commercial": False}),
    ("the client wants ConvNeXt V2", {"preferred_backbones": ["convnextv2_tiny"]}),
])
def test_the_misreadings_reported_by_users_are_fixed(dm, message, expected):
    known = dm.respond(ChatState(asked="task"), message).state.known
    assert {k: known.get(k) for k in expected} == expected


def test_a_number_inside_a_question_is_taken_and_the_question_answered(dm):
    assert split_question("we have 500 per class, is that enough?") == ("we have 500 per class", "is that enough?")
    turn = dm.respond(ChatState(known={"task": "image-classification", "classes": 6}, asked="per_class"),
                      "we have 500 per class, is that enough?")
    assert turn.state.known["per_class"] == 500
    assert "Got it: examples per class **500**" in turn.reply and "From the guide" in turn.reply


def test_a_licence_question_names_exactly_the_model_asked_about(dm):
    turn = dm.respond(ChatState(asked="task"), "is ConvNeXt V2 OK for commercial use?")
    first = turn.reply.splitlines()[0]
    assert "ConvNeXt-V2-Tiny" in first and "CC-BY-NC" in first and "NOT allowed" in first
    assert "ConvNeXt-Tiny" not in turn.reply.split("From the guide")[0]
    assert turn.state.known == {}  # asking about a model is not asking for it


def test_a_named_task_is_not_replaced_by_a_passing_mention(dm):
    state = ChatState(known={"task": "text-classification"}, asked="unlabelled_data")
    turn = dm.respond(state, "We also have 50k unlabelled images from the same line.")
    assert turn.state.known["task"] == "text-classification" and turn.state.known["unlabelled_data"] is True


def test_a_german_conversation_keeps_its_language_for_short_answers(dm):
    turn = dm.respond(ChatState(asked="task"), "Röntgenbilder, 3 Klassen, je 800 Bilder")
    assert turn.state.language == "de" and turn.state.known["per_class"] == 800
    turn = dm.respond(turn.state.model_copy(update={"asked": "commercial"}), "Nein")
    assert turn.state.known["commercial"] is False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), st.text(alphabet=st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
                                                max_size=50),
                 st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=5), st.integers(1000, 4000)),
                 st.sampled_from(["", " ", "\n\n", "?", "???", "0", "-1 classes", "1e309 per class",
                                  "99999999999999999999 images", "NaN classes", "∞ photos", "\x00", "'; DROP TABLE",
                                  "<script>alert(1)</script>", "🙂" * 2000, "a" * 10000])),
       st.sampled_from([None, "task", "domain", "classes", "per_class", "label_quality", "commercial", "edge"]))
def test_no_message_ends_the_conversation(dm, message, asked):
    state = ChatState(known={"task": "image-classification", "classes": 4}, asked=asked)
    turn = dm.respond(state, message)
    assert isinstance(turn.reply, str) and turn.reply.strip()
    assert not turn.reply.startswith("Sorry, something went wrong"), turn.reply  # handled, not caught
    assert turn.state.known.get("task") == "image-classification"  # nothing already known was lost
    brief_card(turn.state)


def test_a_failing_handler_becomes_a_polite_reply_with_the_state_intact(dm, monkeypatch):
    state = ChatState(known={"task": "image-classification", "classes": 4}, asked="per_class")

    def broken(*args, **kwargs):
        raise TypeError("simulated bug")

    monkeypatch.setattr(dm, "_extract", broken)
    turn = dm.respond(state, "about 200 each")
    assert turn.reply.startswith("Sorry, something went wrong") and "How many labelled examples" not in turn.reply
    assert "About how many labelled examples" in turn.reply and turn.state.known == state.known


def test_time_and_capability_questions_are_routed(dm):
    state = ChatState(known={"task": "image-classification", "domain": "manufacturing", "classes": 15,
                             "per_class": 200}, asked="label_quality")
    turn = dm.respond(state, "how long will training take and what will it cost?")
    # the project in working days first, the compute time and its cost as the footnote
    assert re.search(r"About \*\*\d+-\d+ working days\*\*", turn.reply), turn.reply
    assert "takes at most **about" in turn.reply and "hourly compute price" in turn.reply
    assert "from scratch" not in turn.reply.lower()
    turn = dm.respond(state, "can you train an NER model?")
    assert "What TL Advisor can train" in turn.reply
    assert "trains named-entity recognition (NER)" in turn.reply and "entity-level" in turn.reply
    assert "detection, image segmentation and regression" in turn.reply  # what it still cannot train
    turn = dm.respond(state, "who won the football game yesterday?")
    assert turn.reply.startswith("That is outside what I know") and turn.state.known == state.known


def test_terminal_chat_script_json(tmp_path, capsys):
    from tladvisor.cli import main

    script = tmp_path / "call.txt"
    script.write_text("500 Fotos pro Klasse von 6 Fehlerarten\n\nlabels checked by our QA lead\n"
                      "Must not use anything non-commercial\nhow long will it take?\n", encoding="utf-8")
    assert main(["chat", "--script", str(script), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["brief"]["task"] == "image-classification" and out["brief"]["per_class"] == 500
    assert out["brief"]["classes"] == 6 and out["brief"]["commercial"] is True
    assert out["brief"]["label_quality"] == "clean" and out["state"]["language"] == "de"
    assert [t["user"] for t in out["turns"]][0].startswith("500 Fotos") and len(out["turns"]) == 4
    assert "minutes" in out["turns"][-1]["reply"]
    assert out["recommendation"]["primary"]["id"] and out["recommendation"]["expectation"]["band"]
    assert main(["chat", "--script", str(tmp_path / "missing.txt")]) == 2
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    assert main(["chat", "--script", str(tmp_path / "empty.txt")]) == 2
    assert "no messages" in capsys.readouterr().err


def test_the_estimate_scales_with_data_and_says_its_basis():
    from tladvisor.advice.advisor import advise
    from tladvisor.advice.brief import ProjectBrief
    from tladvisor.advice.estimate import estimate

    small = estimate(advise(ProjectBrief(task="image-classification", classes=5, per_class=100)))
    large = estimate(advise(ProjectBrief(task="image-classification", classes=5, per_class=1000)))
    assert small.seconds and large.seconds and large.seconds > 4 * small.seconds  # 10x the data, half the epochs
    per_epoch = [e.stages[1].seconds / e.stages[1].epochs for e in (small, large)]
    assert per_epoch[1] == pytest.approx(10 * per_epoch[0], rel=0.01)  # an epoch over 10x the images
    assert small.stages[0].strategy == "linear_probe" and small.basis.startswith("measured")
    gpu = estimate(advise(ProjectBrief(task="image-classification", classes=5, per_class=100, compute="single_gpu")))
    assert gpu.compute == "single_gpu" and gpu.basis.startswith("measured on one NVIDIA H200")
    assert gpu.seconds < small.seconds and "data loader" in " ".join(gpu.notes)  # the loader caps a small CNN
    assert [s.strategy for s in gpu.stages][-1] == "setup"
    priced = estimate(advise(ProjectBrief(task="text-classification", classes=5, per_class=100)), price_per_hour=2.0)
    assert priced.cost == round(priced.seconds / 3600 * 2.0, 2)
    assert estimate(advise(ProjectBrief(task="tabular-classification", total=5000))).seconds is None
