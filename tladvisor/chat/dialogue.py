"""The scoping dialogue manager: fills the brief's slots from free text, confirms, asks only what is missing.

State lives in a `ChatState` (JSON-able, one per browser session); `DialogueManager.respond` is a pure
function of (state, message) apart from the shared read-only encoder and the optional LLM.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from pydantic import BaseModel, Field, ValidationError

from tladvisor.advice.advisor import advise
from tladvisor.advice.brief import ProjectBrief, format_validation_error
from tladvisor.advice.recommendation import Recommendation
from tladvisor.chat.extract import Extraction, extract, requested_backbones
from tladvisor.chat.slots import SLOT_BY_NAME, SLOTS, Slot

log = logging.getLogger(__name__)

OPENING = ("Hi, I'm TL Advisor: tell me about the project and I'll recommend a pretrained backbone, a training "
           "strategy and honest expectations. Describe it in your own words or use the buttons.")
DONE_WORDS = r"^\s*(done|that'?s (all|it|everything)|show (me )?(the )?recommendation|finish|no more)\b"
SKIP_WORDS = r"^\s*(skip|pass|next|later|no idea,? skip)\s*[.!]?\s*$"
RESTART_WORDS = r"^\s*(start over|restart|reset|new project)\s*[.!]?\s*$"
QUESTION_WORDS = (r"(?:why|what|how|is|are|can|could|should|would|does|do|which|when|will|where|who|explain|tell me|"
                  r"define|wie|was|warum|ist|sind|kann|können|reicht|pourquoi|comment|quel|quelle|est-ce|combien|"
                  r"qué|que|cómo|cuánto|cuántos|puede|podemos|es)")
QUESTION_START = rf"^\s*{QUESTION_WORDS}\b"
ESTIMATE_QUESTION = (r"\b(how long|how much time|how many (?:hours|minutes|days)|what will it cost|how much will it cost|"
                     r"cost|costs|pricing|how expensive|training time|wie lange|combien de temps|cuánto tiempo)\b")
CAPABILITY_QUESTION = (r"\b(?:can|could|do|does|will)\s+(?:you|it|tl advisor|the tool|this tool)\s+(?:also\s+)?"
                       r"(?:train|handle|do|support|fine-?tune|build)\b|\bdo you support\b|\bwhat can you\b")


def split_question(text: str) -> tuple[str, str]:
    """(statements, questions) of one message: "we have 500 per class, is that enough?" ->
    ("we have 500 per class", "is that enough?"). Statements fill slots; questions get answers."""
    statements, questions = [], []
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        if not sentence:
            continue
        if sentence.rstrip().endswith("?"):
            clause = re.search(rf"(?:[,;:]\s*|\s+(?:and|but|so|-)\s+){QUESTION_WORDS}\b", sentence, re.IGNORECASE)
            if clause and not re.search(QUESTION_START, sentence, re.IGNORECASE):
                statements.append(sentence[:clause.start()])
                questions.append(sentence[clause.start():].lstrip(",;:- ").strip())
            else:
                questions.append(sentence)
        elif re.search(QUESTION_START, sentence, re.IGNORECASE) and not extract(sentence):
            questions.append(sentence)
        else:
            statements.append(sentence)
    return " ".join(statements).strip(), " ".join(questions).strip()
_LABELS = {"task": "Task", "domain": "Domain", "classes": "Classes", "per_class": "Examples per class",
           "total": "Examples in total", "label_quality": "Label quality", "difficulty": "Difficulty", "unlabelled_data": "Unlabelled data",
           "commercial": "Commercial use", "edge": "Edge device", "latency_ms": "Latency budget (ms)",
           "compute": "Training compute", "keep_original": "Keep original skills", "language": "Language",
           "preferred_backbones": "Requested backbones"}


class ChatState(BaseModel):
    """What one session's scoping conversation has gathered."""

    known: dict[str, Any] = Field(default_factory=dict)  # brief fields the user stated
    unsure: list[str] = Field(default_factory=list)  # slots answered "don't know"
    skipped: list[str] = Field(default_factory=list)
    asked: Optional[str] = None  # the slot of the last question
    misses: int = 0  # answers in a row that filled nothing
    language: Optional[str] = None  # the language the user writes in, once it is not English (de, fr, es)


@dataclass
class Turn:
    """One reply of the advisor."""

    reply: str
    state: ChatState
    quick_replies: tuple[str, ...] = ()
    recommendation: Optional[Recommendation] = None
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (old, new)


def fmt_value(name: str, value: Any) -> str:
    """A slot value as a person would say it."""
    if value is None:
        return "not sure"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name in ("per_class", "total", "classes") and isinstance(value, (int, float)):
        return f"{int(value):,}"
    if name == "compute":
        return {"cpu": "CPU only", "single_gpu": "one GPU", "multi_gpu": "several GPUs"}.get(value, str(value))
    if name == "preferred_backbones" and isinstance(value, list):
        from tladvisor.advice.catalogue import get_backbone

        return ", ".join(get_backbone(v).name for v in value) or "none"
    if isinstance(value, str):
        return value.replace("_", " ").replace("-", " ")
    return str(value)


def brief_from(state: ChatState) -> Optional[ProjectBrief]:
    """The brief the conversation supports so far (None until the task is known or when it is invalid)."""
    if "task" not in state.known:
        return None
    try:
        return ProjectBrief(**state.known)
    except ValidationError:
        return None


class DialogueManager:
    """Turns messages into brief updates, questions, answers and recommendations.

    `semantic=True` places paraphrased tasks and domains with the bundled MiniLM; `llm` (a LangChain chat
    model) extracts slots with structured output and phrases answers. Both are optional.
    """

    def __init__(self, semantic: bool = True, llm: Any = None):
        self.semantic = semantic
        self.llm = llm

    # ------------------------------------------------------------------ public
    def opening(self) -> Turn:
        state = ChatState()
        slot = self._next_slot(state)
        state.asked = slot.name
        return Turn(f"{OPENING}\n\n{slot.question}", state, slot.quick_replies)

    def respond(self, state: ChatState, message: str) -> Turn:
        """The advisor's reply to one user message. Never raises: a failing step becomes a polite reply and
        the conversation keeps everything it had."""
        try:
            return self._respond(state, message)
        except Exception:  # the dialogue must outlive any bug in a handler; the log keeps the traceback
            log.exception("chat turn failed for message %r", (message or "")[:200])
            return self._fallback(state)

    def _respond(self, state: ChatState, message: str) -> Turn:
        state = state.model_copy(deep=True)
        text = (message if isinstance(message, str) else str(message or "")).strip()
        if not text or not re.search(r"\w", text):
            return self._ask(state, "I didn't get any text." if not text else
                             "I couldn't read any words in that. Describe the project in a sentence, or use the buttons.")
        if re.search(RESTART_WORDS, text, re.IGNORECASE):
            turn = self.opening()
            turn.reply = "Starting over. " + turn.reply
            return turn
        if re.search(SKIP_WORDS, text, re.IGNORECASE) and state.asked:
            state.skipped.append(state.asked)
            return self._ask(state, f"Skipped: {SLOT_BY_NAME[state.asked].question.lower().rstrip('?')}.")
        if re.search(DONE_WORDS, text, re.IGNORECASE):
            pending = [s.name for s in self._open_slots(state)]
            state.skipped += [s for s in pending if s not in state.skipped]
            return self._ask(state, "")
        statement, question = split_question(text)
        if question:
            found = self._extract(statement, state) if statement else Extraction()
            asked_for = requested_backbones(question, state.language)
            if asked_for:  # "could we use EfficientNet-B0?" records the wish, then answers
                found.values["preferred_backbones"] = asked_for
            if found:
                noted = self._apply(state, found, ask=False)
                turn = self._answer(noted.state, question)
                turn.reply = noted.reply + "\n\n" + turn.reply
                turn.changed = noted.changed
                return turn
            return self._answer(state, question)
        found = self._extract(text, state)
        if not found:
            state.misses += 1
            return self._reask(state)
        if "problem" not in state.known and len(found.values) >= 2 and len(text.split()) >= 8:
            state.known["problem"] = text[:1000]  # the first description, quoted on the client page
        return self._apply(state, found)

    def _fallback(self, state: ChatState) -> Turn:
        """The reply when a turn failed: the state as it was before the message, and the pending question."""
        slot = SLOT_BY_NAME.get(state.asked or "")
        reply = ("Sorry, something went wrong while reading that message; nothing you told me before was lost. "
                 "Could you put it another way?")
        if slot is not None:
            reply += f"\n\n{slot.question}"
        return Turn(reply, state.model_copy(deep=True), slot.quick_replies if slot else ())

    # ------------------------------------------------------------------ steps
    def _extract(self, text: str, state: ChatState) -> Extraction:
        found = extract(text, state.asked, state.language)
        if found.language != "en":
            state.language = found.language  # short answers later ("Ja", "Non") are read in that language
        if self.semantic:  # paraphrases keywords miss, only for slots still open (never overriding an answer)
            from tladvisor.chat.semantic import closest

            # only for the task question, and only for a short answer or a message that says nothing else:
            # "200 per class plus 10k unlabelled" must not become a task by similarity
            only_describes = len(text.split()) < 4 or not set(found.values) - {"domain"}
            if state.asked == "task" and only_describes and "task" not in found.values and "task" not in state.known:
                hit = closest(text, "task")
                if hit:
                    found.values["task"] = hit[0]
                    found.task_from_items = True
            # a domain guess from the whole message misleads (a brand, a weather word); only when asked
            if "domain" not in found.values and "domain" not in state.known and state.asked == "domain":
                hit = closest(text, "domain")
                if hit:
                    found.values["domain"] = hit[0]
        if found.task_from_items and "task" in state.known:
            found.values.pop("task", None)  # "we also have unlabelled images" does not change a named task
        if self.llm is not None:
            try:
                from tladvisor.chat.llm import extract_slots

                for key, value in extract_slots(self.llm, text, state.known, state.asked).items():
                    found.values.setdefault(key, value)  # rules win where both read a value
            except Exception as exc:  # a flaky endpoint must not break the call
                log.warning("LLM slot extraction failed: %s", exc)
        return found

    def _apply(self, state: ChatState, found: Extraction, ask: bool = True) -> Turn:
        values = dict(found.values)
        replaced: dict[str, tuple[Any, Any]] = {}
        for new, other in (("per_class", "total"), ("total", "per_class")):
            if new in values and other not in values and other in state.known:
                # one volume figure at a time: a correction replaces the other
                replaced[new] = (f"{fmt_value(other, state.known.pop(other))} {_LABELS[other].lower()}", values[new])
                break
        if "latency_ms" in values and "edge" not in values and "edge" not in state.known:
            values["edge"] = True  # a latency budget answers "where will it run" well enough
        candidate = {**state.known, **values}
        problems = []
        if "task" in candidate:
            try:
                ProjectBrief(**candidate)
            except ValidationError as exc:
                problems = [format_validation_error(exc)]
                bad = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
                for key in bad:
                    values.pop(key, None)
        changed = {k: (state.known.get(k), v) for k, v in values.items() if state.known.get(k) != v}
        changed.update({k: v for k, v in replaced.items() if k in values})
        state.known.update(values)
        for slot in found.unsure:
            if slot not in state.unsure:
                state.unsure.append(slot)
            state.known.pop(slot, None)
        state.misses = 0
        heard = [f"{_LABELS.get(k, k).lower()} **{fmt_value(k, new)}**"
                 + (f" (was {old if isinstance(old, str) and k in replaced else fmt_value(k, old)})" if old is not None else "") for k, (old, new) in changed.items()]
        heard += [f"{_LABELS.get(s, s).lower()} **not sure**" for s in found.unsure]
        if heard:
            intro = ("Updated: " if any(old is not None for old, _ in changed.values()) else "Got it: ") \
                + ", ".join(heard) + "."
        else:
            intro = "Nothing new there: that matches what I have."
        if problems:
            intro += f" I could not use part of that ({problems[0]})."
        if not ask:
            return Turn(intro, state, changed=changed)
        turn = self._ask(state, intro)
        turn.changed = changed
        return turn

    def _answer(self, state: ChatState, question: str) -> Turn:
        from tladvisor.chat.guides import answer_question, capabilities_answer, catalogue_facts, guide_context

        if re.search(ESTIMATE_QUESTION, question, re.IGNORECASE):
            return self._ask(state, self._estimate_reply(state), after_answer=True)
        if re.search(CAPABILITY_QUESTION, question, re.IGNORECASE):
            return self._ask(state, capabilities_answer(), after_answer=True)
        answer = answer_question(question)
        text = answer.text
        if self.llm is not None and answer.sources:
            try:
                from tladvisor.chat.llm import phrase_answer

                facts = catalogue_facts(question)
                text = phrase_answer(self.llm, question, guide_context(question))
                text = (facts + "\n\n" if facts else "") + text + "\n\n*Source: " + ", ".join(answer.sources) + "*"
            except Exception as exc:
                log.warning("LLM answer failed, showing the guide passage: %s", exc)
        return self._ask(state, text, after_answer=True)

    def _estimate_reply(self, state: ChatState) -> str:
        """The plan's training time (and cost, when an hourly price is set) from measured throughput."""
        from tladvisor.advice.estimate import duration_text

        rec = self.recommend(state)
        if rec is None or rec.own_estimate is None:
            return ("I can estimate the training time once I know the task, the number of classes and how many "
                    "labelled examples there are.")
        est = rec.own_estimate  # the same figures as the scoping summary
        if est.seconds is None:
            return " ".join(est.notes) or "I have no measured throughput for this kind of project yet."
        names = {"linear_probe": "linear probe", "lora": "LoRA", "partial": "partial unfreezing",
                 "progressive": "progressive unfreezing", "full": "full fine-tuning",
                 "setup": "setup and evaluation"}
        stages = "; ".join(f"{names.get(s.strategy, s.strategy)} {duration_text(s.seconds)}"
                           + (f" ({s.epochs} epochs at most)" if s.epochs else "") for s in est.stages)
        where = {"cpu": "on a CPU", "single_gpu": "on one GPU", "multi_gpu": "on several GPUs"}[est.compute]
        lines = [f"Training the plan with **{rec.primary.name}** on ~{est.examples:,} examples takes "
                 f"**{est.text}** {where} ({stages}).", f"Basis: {est.basis}. " + " ".join(est.notes)]
        if est.cost is not None:
            lines.append(f"At {est.price_per_hour:g} per hour of compute that is about {est.cost:.2f}.")
        else:
            lines.append(f"Cost: {est.seconds / 3600:.2f} hours of compute times your hourly price "
                         "(set TLADVISOR_PRICE_PER_HOUR to have it worked out). Consulting time is not included.")
        return "\n\n".join(lines)

    def _reask(self, state: ChatState) -> Turn:
        slot = SLOT_BY_NAME.get(state.asked or "")
        if slot is None:
            return self._ask(state, "Sorry, I didn't understand that. You can correct any answer, e.g. "
                                    "'actually 500 per class', or ask a question.")
        extra = " If you'd rather not say, type 'skip'." if state.misses >= 2 else ""
        return Turn(f"Sorry, I didn't catch that. {slot.question} Try {slot.hint}.{extra}", state,
                    slot.quick_replies + (("Skip",) if state.misses >= 2 else ()),
                    self.recommend(state))

    def _ask(self, state: ChatState, intro: str, after_answer: bool = False) -> Turn:
        rec = self.recommend(state)
        slot = self._next_slot(state)
        parts = [intro] if intro else []
        if slot is None:
            state.asked = None
            if not after_answer:
                parts.append("That's everything I need. The recommendation is ready: correct any answer at any "
                             "time (e.g. 'actually 500 per class'), ask a question, or upload data to prove it.")
            quick = ("What is LoRA?", "Why not train from scratch?", "How much data do we need?")
        else:
            state.asked = slot.name
            parts.append(("Back to the scoping: " if after_answer else "") + slot.question)
            quick = slot.quick_replies
        requested = set(state.known.get("preferred_backbones") or [])
        if rec is not None and not after_answer and requested & {r.id for r in rec.rejected}:
            parts.append("*Requested backbone:* " + "; ".join(
                r.reason.rstrip(".") for r in rec.rejected if r.id in requested) + ".")
        if rec is not None and not after_answer:
            parts.append(f"*Recommendation so far:* **{rec.primary.name}**, plan "
                         f"{' → '.join(s.strategy for s in rec.plan) or 'see the panel'}; expected "
                         f"{rec.expectation.metric} {rec.expectation.band_text}.")
        return Turn("\n\n".join(parts), state, quick, rec)

    # ------------------------------------------------------------------ helpers
    def _open_slots(self, state: ChatState) -> list[Slot]:
        done = set(state.unsure) | set(state.skipped)
        return [s for s in SLOTS if s.applies(state.known) and not s.answered(state.known) and s.name not in done]

    def _next_slot(self, state: ChatState) -> Optional[Slot]:
        open_slots = self._open_slots(state)
        return open_slots[0] if open_slots else None

    @staticmethod
    def recommend(state: ChatState) -> Optional[Recommendation]:
        """The recommendation for what the conversation has gathered (None until the brief is complete enough)."""
        brief = brief_from(state)
        if brief is None or brief.missing_for_advice():
            return None
        try:
            return advise(brief)
        except ValueError as exc:
            log.warning("no recommendation for %s: %s", state.known, exc)
            return None


def brief_card(state: ChatState) -> str:
    """The brief card: every slot with what is known, "not sure", "skipped" or still open."""
    rows = ["| | |", "|---|---|"]
    for name, label in _LABELS.items():
        if name in state.known:
            value = fmt_value(name, state.known[name])
        elif name in state.unsure:
            value = "*not sure*"
        elif name in state.skipped:
            value = "*skipped (default used)*"
        elif name in ("total", "latency_ms", "language", "preferred_backbones"):
            continue  # optional details: shown only once stated
        else:
            value = "—"
        rows.append(f"| {label} | {value} |")
    brief = brief_from(state)
    if brief and brief.per_class and "per_class" not in state.known and brief.task != "ner":
        rows.append(f"| Examples per class (derived) | ~{brief.per_class:,} |")
    return "\n".join(rows)
