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
from tladvisor.advice.brief import MODALITY_OF_TASK, ONE_CLASS_TASKS, ProjectBrief, format_validation_error
from tladvisor.advice import phrasing
from tladvisor.advice.acceptance import priority_class
from tladvisor.advice.recommendation import Recommendation
from tladvisor.chat import answers
from tladvisor.chat.balance import day_rate, price
from tladvisor.chat.extract import Extraction, extract, requested_backbones
from tladvisor.chat.normalise import normalise
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
REPORTED_QUESTION = (r"\b(?:ask|asks|asked|wonder|wonders|wondering|want to know|wants to know|would like to know)\s+"
                     r"(?:us\s+|me\s+)?(?:what|how|whether|if|when|which|why)\b")
CAPABILITY_QUESTION = (r"\b(?:can|could|do|does|will)\s+(?:you|it|tl advisor|the tool|this tool)\s+(?:also\s+)?"
                       r"(?:train|handle|do|support|fine-?tune|build)\b|\bdo you support\b|\bwhat can you\b")


REQUIRED_SLOTS = ("task", "classes", "per_class")  # the advice needs them: asked up to three times
GENERIC_TASKS = ("image-classification", "text-classification", "tabular-classification")  # each modality's default


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
        elif re.search(REPORTED_QUESTION, sentence, re.IGNORECASE):  # "They ask what it will cost."
            questions.append(sentence)
        else:
            statements.append(sentence)
    return " ".join(statements).strip(), " ".join(questions).strip()
_LABELS = {"task": "Task", "domain": "Domain", "classes": "Classes", "per_class": "Examples per class",
           "total": "Examples in total", "label_quality": "Label quality", "difficulty": "Difficulty", "unlabelled_data": "Unlabelled data",
           "commercial": "Commercial use", "edge": "Edge device", "latency_ms": "Latency budget (ms)",
           "compute": "Training compute", "keep_original": "Keep original skills", "language": "Language",
           "preferred_backbones": "Requested backbones", "class_counts": "Class counts",
           "error_priority": "What matters most", "target": "Target"}


class ChatState(BaseModel):
    """What one session's scoping conversation has gathered."""

    known: dict[str, Any] = Field(default_factory=dict)  # brief fields the user stated
    unsure: list[str] = Field(default_factory=list)  # slots answered "don't know"
    skipped: list[str] = Field(default_factory=list)
    asked: Optional[str] = None  # the slot of the last question
    misses: int = 0  # answers in a row that filled nothing
    language: Optional[str] = None  # the language the user writes in, once it is not English (de, fr, es)
    asked_times: dict[str, int] = Field(default_factory=dict)  # how often each slot's question was put
    price_per_hour: Optional[float] = None  # a compute price the user stated ("our GPU costs 2 euros an hour")
    day_rate: Optional[float] = None  # a consulting day rate the user stated ("my day rate is 950 EUR")
    currency: Optional[str] = None
    last_answer: Optional[str] = None  # which answerer took the last question (for "what would it add?")


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
    if name == "class_counts" and isinstance(value, dict):
        return ", ".join(f"{k} {int(v):,}" for k, v in value.items())
    if name == "error_priority" and isinstance(value, str):
        kind, _, cls = value.partition(":")
        return {"recall": f"never miss {repr(cls) if cls else 'a rare case'} (false alarms are acceptable)",
                "precision": f"few false alarms{(' on ' + cls) if cls else ''} (a miss is acceptable)",
                "balanced": "both mistakes cost the same"}.get(kind, value)
    if name == "target" and isinstance(value, (int, float)):
        return f"{value:.0%}"
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
        low = normalise(text, state.language)[0].lower()
        stated_rate = day_rate(low)
        if stated_rate:
            state.day_rate, state.currency = stated_rate
        stated_price = price(low)
        if stated_price:
            state.price_per_hour, state.currency = stated_price
            if re.search(r"\bgpus?\b", text, re.IGNORECASE) and "compute" not in state.known:
                state.known["compute"] = "single_gpu"  # "what will it cost if our GPU is 2.50 euros an hour?"
        statement, question = split_question(text)
        if question:
            found = self._extract(statement, state) if statement else Extraction()
            asked_for = requested_backbones(question, state.language)
            if re.search(answers.UNLABELLED, question, re.IGNORECASE) and \
                    re.search(r"\b(?:they|we|our|their|the|those|these)\b|\d", question, re.IGNORECASE) and \
                    "unlabelled_data" not in state.known:
                found.values["unlabelled_data"] = True  # "can we use the 2 million unlabelled reviews they have?"
            if asked_for:  # "could we use EfficientNet-B0?" records the wish, then answers
                found.values["preferred_backbones"] = asked_for
            if found:
                noted = self._apply(state, found, ask=False)
                turn = self._answer(noted.state, question, text)
                turn.reply = noted.reply + "\n\n" + turn.reply
                turn.changed = noted.changed
                return turn
            return self._answer(state, question, text)
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
        known = brief_from(state)
        found = extract(text, state.asked, state.language,
                        known_total=(known.total if known else None) or state.known.get("total"))
        if found.language != "en":
            state.language = found.language  # short answers later ("Ja", "Non") are read in that language
        if self.semantic:  # paraphrases keywords miss, only for slots still open (never overriding an answer)
            from tladvisor.chat.semantic import closest

            # only for the task question, and only for a short answer or a message that says nothing else:
            # "200 per class plus 10k unlabelled" must not become a task by similarity
            only_describes = len(text.split()) < 4 or not set(found.values) - {"domain"} - found.weak
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
        if "class_counts" not in found.values and state.known.get("class_counts"):
            # "it's 1,500 phishing, not 1,000": a count for a class already named corrects it
            low = normalise(text, state.language)[0].lower()
            for name in state.known["class_counts"]:
                m = re.search(rf"(?<![\w.])(\d+)\s+{re.escape(name)}s?\b|\b{re.escape(name)}s?\s*(?:is|are|has|:|=)?\s*"
                              rf"(?:now\s+|actually\s+)?(\d+)\b", low)
                if m and name not in ("other", "smallest class"):
                    found.values.setdefault("class_counts", {})[name] = int(m.group(1) or m.group(2))
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
        for key in found.weak:  # inferred, not stated: "porosity vs shrinkage" does not recount 15 classes
            if key in state.known:
                values.pop(key, None)
        for key in ("total", "per_class"):
            old, new = state.known.get(key), values.get(key)
            if old and new and new != old and not found.corrects and abs(new - old) <= 0.1 * old:
                values.pop(key)  # "with 10k images" said in passing does not replace the 10,510 stated
        known_task = state.known.get("task")
        if values.get("task") in GENERIC_TASKS and known_task and \
                MODALITY_OF_TASK[known_task] == MODALITY_OF_TASK[values["task"]]:
            values.pop("task")  # "about 40 columns" keeps a regression a regression; "boxes" still corrects
        if "class_counts" in values:
            values.update(_merged_counts(state.known, values))
        before = self.recommend(state)
        asked = SLOT_BY_NAME.get(state.asked or "")
        if asked is not None and set(asked.fields or (asked.name,)) & set(values):
            state.asked_times.pop(asked.name, None)  # answered (even if refused): its count starts again
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
        if "error_priority" in values and "task" in candidate and not problems:
            # "never miss a crack" is about the class the client named 'cracked': say it in their class's name
            kind, _, word = str(values["error_priority"]).partition(":")
            named = priority_class(ProjectBrief(**{**candidate, "error_priority": values["error_priority"]}))
            if word and named and named != word and named in (candidate.get("class_counts") or {}):
                values["error_priority"] = f"{kind}:{named}"
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
        intro += _recommendation_change(before, self.recommend(state))
        if not ask:
            return Turn(intro, state, changed=changed)
        turn = self._ask(state, intro)
        turn.changed = changed
        return turn

    def _answer(self, state: ChatState, question: str, message: str = "") -> Turn:
        from tladvisor.chat.guides import answer_question, capabilities_answer, catalogue_facts, guide_context

        brief = brief_from(state)
        ctx = answers.Context(question=normalise(question, state.language)[0], brief=brief, rec=self.recommend(state),
                              missing=brief.missing_for_advice() if brief else ["task"], message=message,
                              previous=state.last_answer or "", day_rate=state.day_rate,
                              currency=state.currency or "")
        if re.search(CAPABILITY_QUESTION, question, re.IGNORECASE):
            # a task this tool scopes but does not train gets a plain "not yet"; else what it trains
            return self._ask(state, answers.capability(ctx) or capabilities_answer(), after_answer=True)
        own = answers.answer(ctx)
        if own:
            state.last_answer = own[0]
            return self._ask(state, own[1], after_answer=True)
        state.last_answer = None
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

    def _reask(self, state: ChatState) -> Turn:
        slot = SLOT_BY_NAME.get(state.asked or "")
        if slot is None:
            return self._ask(state, "Sorry, I didn't understand that. You can correct any answer, e.g. "
                                    "'actually 500 per class', or ask a question.")
        state.asked_times[slot.name] = state.asked_times.get(slot.name, 0) + 1
        # asked twice already (three times for one the advice needs, with the offer to skip): move on
        if state.asked_times[slot.name] > (3 if _required(slot.name, state) else 2):
            # asked enough times in a row: the call moves on to another question and comes back to this one
            return self._ask(state, "Let's come back to that later.")
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
            state.asked_times[slot.name] = state.asked_times.get(slot.name, 0) + 1
            parts.append(("Back to the scoping: " if after_answer else "") + slot.question)
            quick = slot.quick_replies
        requested = set(state.known.get("preferred_backbones") or [])
        if rec is not None and not after_answer and requested & {r.id for r in rec.rejected}:
            parts.append("*Requested backbone:* " + "; ".join(
                r.reason.rstrip(".") for r in rec.rejected if r.id in requested) + ".")
        if rec is not None and not after_answer:
            parts.append(f"*Recommendation so far:* **{rec.primary.name}**; expected "
                         f"{phrasing.metric_words(rec)} {rec.expectation.band_text}.")
        return Turn("\n\n".join(parts), state, quick, rec)

    # ------------------------------------------------------------------ helpers
    def _open_slots(self, state: ChatState) -> list[Slot]:
        done = set(state.unsure) | set(state.skipped)
        return [s for s in SLOTS if s.applies(state.known) and not s.answered(state.known) and s.name not in done]

    def _next_slot(self, state: ChatState) -> Optional[Slot]:
        """The first open slot not yet asked twice (three times for one the advice needs): a question the client
        let pass gives way to the next one and comes back after the others, so no question is put three times
        in a row."""
        open_slots = self._open_slots(state)
        fresh = [s for s in open_slots if state.asked_times.get(s.name, 0) < (3 if _required(s.name, state) else 2)]
        if fresh:
            return fresh[0]
        if open_slots and len(open_slots) > 1 or (open_slots and state.asked != open_slots[0].name):
            # every open question was put already: the one asked longest ago comes back
            waiting = [s for s in open_slots if s.name != state.asked] or open_slots
            for s in waiting:
                state.asked_times[s.name] = 0
            return waiting[0]
        for s in open_slots:  # one question left, asked just now and again: its default stands
            state.skipped.append(s.name)
        return None

    @staticmethod
    def recommend(state: ChatState) -> Optional[Recommendation]:
        """The recommendation for what the conversation has gathered (None until the brief is complete enough)."""
        brief = brief_from(state)
        if brief is None or brief.missing_for_advice():
            return None
        try:
            return advise(brief, price_per_hour=state.price_per_hour, currency=state.currency)
        except ValueError as exc:
            log.warning("no recommendation for %s: %s", state.known, exc)
            return None


def _required(slot: str, state: ChatState) -> bool:
    """Does the advice need this slot? (Detection, segmentation and NER can do without a class count.)"""
    if slot == "classes" and state.known.get("task") in ONE_CLASS_TASKS:
        return False
    return slot in REQUIRED_SLOTS


def _merged_counts(known: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Counts of some classes correct those already known ("actually 80 defects"); counts naming other classes,
    or a full new set, replace them. The per-class average and the old total give way to the counts."""
    new = dict(values["class_counts"])
    old = dict(known.get("class_counts") or {})
    stems = {k.rstrip("s"): k for k in old}
    if old and "smallest class" not in new and all(k.rstrip("s") in stems for k in new) and len(new) < len(old):
        merged = {**old, **{stems[k.rstrip("s")]: v for k, v in new.items()}}
        merged.pop("other", None)  # the rest is worked out again from the total
        out: dict[str, Any] = {"class_counts": merged}
    else:
        out = {"class_counts": new}
    if "per_class" in known and "per_class" not in values:
        known.pop("per_class")  # an average stated before the counts no longer holds
    if len(out["class_counts"]) >= 2 and "smallest class" not in out["class_counts"] and "total" not in values:
        classes = values.get("classes", known.get("classes"))
        if classes is None or classes == len(out["class_counts"]):
            out["total"] = sum(out["class_counts"].values())
    return out


def _recommendation_change(before: Optional[Recommendation], after: Optional[Recommendation]) -> str:
    """' The recommended model changed from X to Y: <why>.' when an answer changed it, else ''."""
    if before is None or after is None:
        return ""
    text = ""
    if before.primary.id != after.primary.id:
        why = after.primary.why.split(";")[0]
        text += f" The recommended model changed from {before.primary.name} to **{after.primary.name}**: {why}."
    if before.expectation.metric != after.expectation.metric:
        text += (f" The measure of success is now {after.expectation.metric} (was {before.expectation.metric}), "
                 "because of what you just told me.")
    return text


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
        elif name in ("total", "latency_ms", "language", "preferred_backbones", "class_counts", "target"):
            continue  # optional details: shown only once stated
        else:
            value = "—"
        rows.append(f"| {label} | {value} |")
    brief = brief_from(state)
    if brief and brief.per_class and "per_class" not in state.known and brief.task != "ner":
        rows.append(f"| Examples per class (derived) | ~{brief.per_class:,} |")
    return "\n".join(rows)
