"""Optional LLM through LangChain: slot extraction with structured output, and phrasing of guide answers.

Set `TLADVISOR_LLM` to use one (the app is fully functional without):
- `openai:gpt-4o-mini` (needs `langchain-openai`; `OPENAI_BASE_URL` / `OPENAI_API_KEY` select any
  OpenAI-compatible endpoint), `ollama:llama3.1` (needs `langchain-ollama`; `OLLAMA_HOST`),
- or `package.module:ChatClass` for any LangChain chat model, with `TLADVISOR_LLM_MODEL` as its model name.
When the `langchain` package is installed, `init_chat_model` handles every provider it knows.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
from typing import Any, Literal, Optional

from langchain_core.documents import Document
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.output_parsers import PydanticOutputParser
from langchain_core.prompts import ChatPromptTemplate
from pydantic import BaseModel, Field

from tladvisor.advice.brief import Task

log = logging.getLogger(__name__)

_PROVIDERS = {"openai": ("langchain_openai", "ChatOpenAI", "langchain-openai"),
              "ollama": ("langchain_ollama", "ChatOllama", "langchain-ollama")}


class LLMConfigError(RuntimeError):
    """`TLADVISOR_LLM` names a model that cannot be created here (the message says what to install)."""


def chat_model_from_env(env: Optional[dict[str, str]] = None) -> Optional[BaseChatModel]:
    """The chat model `TLADVISOR_LLM` names, or None when it is unset."""
    env = dict(os.environ if env is None else env)
    spec = env.get("TLADVISOR_LLM", "").strip()
    if not spec:
        return None
    provider, _, model = spec.partition(":")
    if "." in provider:  # package.module:ChatClass
        try:
            cls = getattr(importlib.import_module(provider), model)
        except (ImportError, AttributeError) as exc:
            raise LLMConfigError(f"TLADVISOR_LLM={spec}: cannot import {model} from {provider} ({exc})") from exc
        kwargs = {"model": env["TLADVISOR_LLM_MODEL"]} if env.get("TLADVISOR_LLM_MODEL") else {}
        return cls(**kwargs)
    try:
        from langchain.chat_models import init_chat_model  # the full `langchain` package, when installed

        return init_chat_model(model, model_provider=provider, temperature=0)
    except ImportError:
        pass
    if provider not in _PROVIDERS:
        raise LLMConfigError(f"TLADVISOR_LLM={spec}: unknown provider '{provider}'; use openai:MODEL, "
                             "ollama:MODEL or package.module:ChatClass")
    module, cls_name, package = _PROVIDERS[provider]
    try:
        cls = getattr(importlib.import_module(module), cls_name)
    except ImportError as exc:
        raise LLMConfigError(f"TLADVISOR_LLM={spec} needs `pip install {package}`") from exc
    kwargs: dict[str, Any] = {"model": model, "temperature": 0}
    if provider == "ollama" and env.get("OLLAMA_HOST"):
        kwargs["base_url"] = env["OLLAMA_HOST"]
    return cls(**kwargs)


class SlotUpdate(BaseModel):
    """Project facts stated in one user message (null when the message does not state them)."""

    task: Optional[Task] = Field(None, description="What the model must do.")
    domain: Optional[str] = Field(None, description="Client domain, e.g. manufacturing, medical, legal, finance.")
    classes: Optional[int] = Field(None, description="Number of classes / categories / entity types.")
    per_class: Optional[int] = Field(None, description="Labelled examples per class.")
    total: Optional[int] = Field(None, description="Labelled examples in total.")
    label_quality: Optional[Literal["clean", "some_noise", "noisy", "unknown"]] = None
    unlabelled_data: Optional[bool] = Field(None, description="Unlabelled in-domain data available?")
    commercial: Optional[bool] = Field(None, description="Used commercially?")
    edge: Optional[bool] = Field(None, description="Runs on an edge / mobile device?")
    latency_ms: Optional[float] = Field(None, description="Latency budget per example, milliseconds.")
    compute: Optional[Literal["cpu", "single_gpu", "multi_gpu"]] = None
    keep_original: Optional[bool] = Field(None, description="Must keep its original-domain skills?")
    language: Optional[str] = Field(None, description="Language of the texts, ISO code.")


_EXTRACT_PROMPT = ChatPromptTemplate.from_messages([
    ("system", "You extract facts about a machine-learning project from a consultant's message in a scoping "
               "call. Fill only the fields the message states or clearly corrects; leave every other field null. "
               "Facts known so far: {known}. The last question asked was about: {asked}.{format_instructions}"),
    ("human", "{message}"),
])
_ANSWER_PROMPT = ChatPromptTemplate.from_messages([
    ("system", "You are TL Advisor, a transfer-learning consultant's assistant. Answer the question in at most "
               "four sentences using ONLY the passages below, and quote the sentence you rely on in double quotes. "
               "If the passages do not answer it, say so.\n\n{context}"),
    ("human", "{question}"),
])


def extract_slots(llm: BaseChatModel, message: str, known: dict[str, Any], asked: Optional[str]) -> dict[str, Any]:
    """Brief fields the LLM reads in `message` (structured output; a JSON parser for models without tools)."""
    inputs = {"message": message, "known": json.dumps(known, default=str), "asked": asked or "nothing yet"}
    try:
        chain = _EXTRACT_PROMPT.partial(format_instructions="") | llm.with_structured_output(SlotUpdate)
        update = chain.invoke(inputs)
    except NotImplementedError:  # the model has no tool calling: ask for JSON and parse it
        parser = PydanticOutputParser(pydantic_object=SlotUpdate)
        chain = _EXTRACT_PROMPT.partial(format_instructions="\n" + parser.get_format_instructions()) | llm | parser
        update = chain.invoke(inputs)
    if isinstance(update, dict):
        update = SlotUpdate(**update)
    return update.model_dump(exclude_none=True)


def phrase_answer(llm: BaseChatModel, question: str, passages: list[Document]) -> str:
    """The LLM's answer to a free question, grounded in guide passages."""
    context = "\n\n".join(f"[{d.metadata['title']}]\n{d.metadata['passage']}" for d in passages)
    reply = (_ANSWER_PROMPT | llm).invoke({"question": question, "context": context})
    return str(getattr(reply, "content", reply)).strip()
