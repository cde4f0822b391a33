"""The scoping dialogue: one-message slot filling, corrections, every slot reachable, polite re-asks,
free questions answered from the guides, and the LLM path with LangChain's fake chat models."""
from __future__ import annotations

import json

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from tladvisor.chat.dialogue import ChatState, DialogueManager, brief_card, brief_from
from tladvisor.chat.extract import extract, parse_number
from tladvisor.chat.slots import SLOTS


def _talk(dm: DialogueManager, *messages: str):
    turn = dm.opening()
    for m in messages:
        turn = dm.respond(turn.state, m)
    return turn


@pytest.fixture(scope="module")
def dm() -> DialogueManager:
    return DialogueManager(semantic=True)


def test_one_message_fills_every_slot_it_can(dm):
    turn = _talk(dm, "we have about 3k photos of 15 scratch types, it's for a car-parts supplier")
    known = turn.state.known
    assert known["task"] == "image-classification" and known["domain"] == "manufacturing"
    assert known["classes"] == 15 and known["total"] == 3000
    assert "classes **15**" in turn.reply and "3,000" in turn.reply  # it confirms what it understood
    # it asks only what is missing: the next question is label quality, not the task or the data volume
    assert turn.state.asked == "label_quality" and "How clean are the labels?" in turn.reply
    assert turn.recommendation is not None and turn.recommendation.brief.per_class == 200
    assert "Recommendation so far" in turn.reply


def test_corrections_update_the_recommendation(dm):
    before = _talk(dm, "we have about 3k photos of 15 scratch types, it's for a car-parts supplier")
    after = dm.respond(before.state, "actually 500 per class")
    assert after.state.known["per_class"] == 500 and "total" not in after.state.known
    assert after.reply.startswith("Updated: examples per class **500** (was 3,000 examples in total)")
    assert after.recommendation.brief.per_class == 500
    assert after.recommendation.expectation.band != before.recommendation.expectation.band
    # 500/class moves the plan from the feature-extraction range into the fine-tuning range
    assert "IMG-VOL-FT" in after.recommendation.fired_rule_ids and "IMG-VOL-FE" in before.recommendation.fired_rule_ids
    again = dm.respond(after.state, "sorry, it's 20 classes")
    assert again.state.known["classes"] == 20 and "(was 15)" in again.reply


def test_every_slot_is_reachable_with_quick_replies(dm):
    turn = dm.opening()
    asked = []
    for _ in range(len(SLOTS) + 2):
        if turn.state.asked is None:
            break
        asked.append(turn.state.asked)
        turn = dm.respond(turn.state, turn.quick_replies[1])  # the second quick reply of each question
    # which mistake costs more is asked only for two classes or uneven ones (this walk says 5 classes)
    assert asked == [s.name for s in SLOTS if s.name != "error_priority"]
    assert turn.state.asked is None and "That's everything I need" in turn.reply
    brief = brief_from(turn.state)
    assert brief.task == "text-classification" and brief.domain == "medical" and brief.classes == 5
    assert brief.per_class == 100 and brief.label_quality == "some_noise" and brief.unlabelled_data is False
    assert brief.commercial is False and brief.edge is True and brief.compute == "single_gpu"
    assert brief.keep_original is False
    card = brief_card(turn.state)
    assert "| Domain | medical |" in card and "| Training compute | one GPU |" in card


def test_unknown_answers_are_reasked_politely(dm):
    turn = _talk(dm, "Image classification", "Manufacturing")
    assert turn.state.asked == "classes"
    turn = dm.respond(turn.state, "banana")
    assert turn.reply.startswith("Sorry, I didn't catch that.") and "How many classes" in turn.reply
    assert "12 classes" in turn.reply and turn.state.asked == "classes"
    turn = dm.respond(turn.state, "banana again")
    assert "skip" in turn.reply and "Skip" in turn.quick_replies
    turn = dm.respond(turn.state, "1 class")  # a value the brief refuses is explained, not stored
    assert "classes" not in turn.state.known and "greater than or equal to 2" in turn.reply
    turn = dm.respond(turn.state, "12")
    assert turn.state.known["classes"] == 12 and turn.state.asked == "per_class"


def test_not_sure_and_skip_are_answers(dm):
    turn = _talk(dm, "Text classification, legal, 8 classes, 300 each", "Don't know")
    assert "label_quality" in turn.state.known and turn.state.known["label_quality"] == "unknown"
    turn = _talk(dm, "Text classification, legal, 8 classes, 300 each", "clean", "Needs a trained eye", "no",
                 "Not sure")
    assert turn.state.known["difficulty"] == "subtle"
    assert "commercial" in turn.state.unsure and turn.state.asked == "edge"
    assert brief_from(turn.state).commercial is None
    turn = dm.respond(turn.state, "skip")
    assert "edge" in turn.state.skipped and turn.state.asked == "compute"
    done = dm.respond(turn.state, "that's all")
    assert done.state.asked is None and "That's everything I need" in done.reply


def test_paraphrased_task_and_domain_use_minilm_similarity(dm):
    assert "task" not in extract("we want to tell happy customers from angry ones").values
    turn = _talk(dm, "we want to tell happy customers from angry ones")
    assert turn.state.known["task"] == "sentiment"
    turn = _talk(dm, "Image classification", "our hospital's radiology department")
    assert turn.state.known["domain"] == "medical"


def test_free_questions_are_answered_from_the_guides(dm):
    start = _talk(dm, "we have about 3k photos of 15 scratch types, it's for a car-parts supplier")
    turn = dm.respond(start.state, "why not train from scratch?")
    assert "From the guide *Why not train from scratch?*" in turn.reply and "\n> " in turn.reply
    assert turn.state.known == start.state.known  # a question changes nothing
    assert "Back to the scoping: How clean are the labels?" in turn.reply
    turn = dm.respond(start.state, "is FinBERT OK commercially?")
    assert "FinBERT" in turn.reply and "not cleared" in turn.reply and "Model licences" in turn.reply
    turn = dm.respond(start.state, "What is LoRA?")
    assert "*What is LoRA?*" in turn.reply and "low-rank" in turn.reply


@pytest.mark.parametrize("text,value", [("3k", 3000), ("1,200", 1200), ("2.5 million", 2.5e6), ("twelve", 12),
                                        ("none", None)])
def test_numbers(text, value):
    assert parse_number(text) == value


def test_state_survives_json_round_trip(dm):
    turn = _talk(dm, "German legal contracts, 8 clause types, 300 each, some noise")
    state = ChatState(**json.loads(json.dumps(turn.state.model_dump())))
    assert brief_from(state).language == "de" and brief_from(state).label_quality == "some_noise"


class ToolCallingFake(GenericFakeChatModel):
    """A fake chat model that accepts tools, so `with_structured_output` goes through tool calls."""

    def bind_tools(self, tools, **kwargs):
        return self


def test_llm_extracts_slots_with_structured_output():
    call = {"name": "SlotUpdate", "id": "1", "args": {"task": "object-detection", "classes": 4, "total": 900,
                                                      "domain": "retail"}}
    llm = ToolCallingFake(messages=iter([AIMessage(content="", tool_calls=[call])]))
    dm = DialogueManager(semantic=False, llm=llm)
    turn = dm.respond(dm.opening().state, "shelf pictures: find the four brands of cereal boxes, ~900 annotated")
    known = turn.state.known
    # the rules read "900 annotated" and nothing else; the LLM adds the task, class count and domain
    assert known["task"] == "object-detection" and known["classes"] == 4 and known["domain"] == "retail"
    assert known["total"] == 900


def test_llm_without_tools_answers_in_json_and_phrases_guide_answers():
    extraction = json.dumps({"task": "ner", "total": 400, "domain": "clinical"})
    answer = 'Because "A pre-trained backbone has already learned those general features".'
    llm = GenericFakeChatModel(messages=iter([AIMessage(content=extraction), AIMessage(content=answer)]))
    dm = DialogueManager(semantic=False, llm=llm)
    turn = dm.respond(dm.opening().state, "pull medication names from our discharge letters, 400 done so far")
    assert turn.state.known["task"] == "ner" and turn.state.known["total"] == 400
    assert turn.state.known["domain"] == "clinical"
    turn = dm.respond(turn.state, "why not train from scratch?")
    assert turn.reply.startswith(answer) and "*Source: Why not train from scratch?*" in turn.reply


def test_a_failing_llm_falls_back_to_rules_and_guides():
    llm = GenericFakeChatModel(messages=iter([]))  # raises on every call
    dm = DialogueManager(semantic=False, llm=llm)
    turn = dm.respond(dm.opening().state, "we have about 3k photos of 15 scratch types")
    assert turn.state.known["classes"] == 15
    turn = dm.respond(turn.state, "what is LoRA?")
    assert "From the guide *What is LoRA?*" in turn.reply


def test_llm_from_environment():
    from tladvisor.chat.llm import LLMConfigError, chat_model_from_env

    assert chat_model_from_env({}) is None
    model = chat_model_from_env({"TLADVISOR_LLM": "langchain_core.language_models.fake_chat_models:ParrotFakeChatModel"})
    assert type(model).__name__ == "ParrotFakeChatModel"
    with pytest.raises(LLMConfigError, match="cannot import Nope"):
        chat_model_from_env({"TLADVISOR_LLM": "langchain_core.language_models:Nope"})
    with pytest.raises(LLMConfigError, match="unknown provider|pip install"):
        chat_model_from_env({"TLADVISOR_LLM": "nosuchprovider:model-x"})


def test_two_classes_are_asked_which_mistake_costs_more_in_plain_words(dm):
    turn = _talk(dm, "Image classification of welds, good vs cracked, 1,800 good and 60 cracked")
    assert turn.state.asked == "error_priority" and "Which mistake costs the client more" in turn.reply
    turn = dm.respond(turn.state, turn.quick_replies[0])  # "Missing one"
    assert turn.state.known["error_priority"] == "recall" and turn.state.asked != "error_priority"
    rec = turn.recommendation or dm.recommend(turn.state)
    assert rec.acceptance.metric.startswith("recall of 'cracked'") and rec.acceptance.threshold is None
    assert "98.7%" not in rec.acceptance.baseline_text and "96.8%" in rec.acceptance.baseline_text


def test_the_priority_is_said_in_the_clients_class_name(dm):
    turn = _talk(dm, "Photos of tiles, 5,000 good and only 60 cracked", "Missing a crack is expensive, a false alarm "
                 "just costs a second look.")
    assert turn.state.known["error_priority"] == "recall:cracked"
    assert "never miss 'cracked'" in turn.reply
