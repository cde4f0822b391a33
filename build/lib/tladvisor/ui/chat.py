"""The chat tab's handlers: each takes the session's history and `ChatState` (as a dict, held in gr.State) and
returns what the page shows. No module-level session state: one process serves many sessions."""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Optional

from tladvisor.advice.summary import scoping_summary_markdown
from tladvisor.chat.dialogue import ChatState, DialogueManager, Turn, brief_card
from tladvisor.ui.scoping import summary_files

log = logging.getLogger(__name__)
MAX_QUICK_REPLIES = 7
NO_RECOMMENDATION = ("*The recommendation appears here as soon as the task, the number of classes and the "
                     "data volume are known.*")


@lru_cache(maxsize=1)
def dialogue_manager() -> DialogueManager:
    """The process-wide dialogue manager (stateless: sessions pass their own state in). Uses the LLM that
    TLADVISOR_LLM names, if any; a misconfigured LLM is logged and the app runs without it."""
    from tladvisor.chat.llm import LLMConfigError, chat_model_from_env

    try:
        llm = chat_model_from_env()
    except LLMConfigError as exc:
        log.warning("%s; continuing without an LLM", exc)
        llm = None
    return DialogueManager(semantic=True, llm=llm)


def warm_up() -> None:
    """Load the encoder, the prototypes and the guide index (a few seconds) before the first message needs them."""
    try:
        from tladvisor.chat.guides import guide_store
        from tladvisor.chat.semantic import closest

        closest("warm up", "task")
        closest("warm up", "domain")
        guide_store()
    except Exception as exc:  # the chat still works on keywords alone
        log.warning("warm-up failed: %s", exc)


def _view(turn: Turn, history: list[dict[str, Any]]) -> tuple:
    """(history, state, brief card, recommendation, summary files, quick-reply labels...)."""
    history = history + [{"role": "assistant", "content": turn.reply}]
    rec = turn.recommendation
    rec_md = scoping_summary_markdown(rec) if rec else NO_RECOMMENDATION
    labels = list(turn.quick_replies[:MAX_QUICK_REPLIES])
    labels += [""] * (MAX_QUICK_REPLIES - len(labels))
    return (history, turn.state.model_dump(), brief_card(turn.state), rec_md, summary_files(rec), *labels)


def start() -> tuple:
    """The opening of a new session's conversation."""
    return _view(dialogue_manager().opening(), [])


def send(message: str, history: list[dict[str, Any]], state: Optional[dict[str, Any]]) -> tuple:
    """One user message (typed or a quick reply) -> the updated view. Never raises: a message the dialogue
    cannot handle gets an apology and the conversation so far is kept."""
    message = (message or "").strip()
    if message:
        history = history + [{"role": "user", "content": message}]
    try:
        before = ChatState(**(state or {}))
    except Exception:  # a state from an older version of the app: start the brief again
        log.exception("chat state could not be read; starting a fresh one")
        before = ChatState()
    try:
        turn = dialogue_manager().respond(before, message)
        return _view(turn, history)
    except Exception:
        log.exception("chat turn failed on %r", message[:200])
        history = history + [{"role": "assistant", "content": (
            "Sorry, I could not process that message. Everything gathered so far is kept; please rephrase it, "
            "or give one fact at a time (e.g. \"5 classes\", \"400 per class\").")}]
        try:
            rec = DialogueManager.recommend(before)  # the recommendation shown before this message stays
        except Exception:
            rec = None
        return (history, before.model_dump(), brief_card(before),
                scoping_summary_markdown(rec) if rec else NO_RECOMMENDATION, summary_files(rec),
                *[""] * MAX_QUICK_REPLIES)


def note(history: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Add an advisor message outside the scoping flow (upload audits, training results, errors)."""
    return history + [{"role": "assistant", "content": text}]
