"""Answers to free questions from `knowledge/guides`, by retrieval built on LangChain.

The guides become LangChain `Document`s, are split by `RecursiveCharacterTextSplitter`, and are indexed in an
`InMemoryVectorStore` over the bundled MiniLM embeddings. An answer quotes the passage it used and names its
guide; when a question names a catalogue backbone ("is FinBERT OK commercially?") the catalogue's licence facts
come first, since they are more precise than any guide.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_text_splitters import RecursiveCharacterTextSplitter

from tladvisor.advice.catalogue import Backbone
from tladvisor.advice.knowledge import markdown_documents
from tladvisor.chat.backbone_names import named_backbones


class MiniLMEmbeddings(Embeddings):
    """LangChain embeddings backed by the bundled all-MiniLM-L6-v2 (offline)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        from tladvisor.chat.semantic import embed

        return embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _unwrap(body: str) -> str:
    """Join hard-wrapped lines so that a passage boundary falls between paragraphs, list items or sentences."""
    paragraphs = []
    for para in re.split(r"\n\s*\n", body.strip()):
        items = re.split(r"\n(?=\s*[-*] |\s*\d+\. )", para)  # keep list items on their own lines
        paragraphs.append("\n".join(" ".join(line.strip() for line in item.splitlines()) for item in items))
    return "\n\n".join(paragraphs)


def guide_documents() -> list[Document]:
    """Each guide split into passages; metadata keeps the guide's title, file and the bare passage."""
    # paragraphs first, no overlap: a quoted passage should start and end where the guide's sentences do
    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=0,
                                              separators=["\n\n", "\n", ". ", " "], keep_separator="end")
    docs = []
    for stem, meta, body in markdown_documents("guides"):
        title = meta.get("title", stem)
        for i, chunk in enumerate(splitter.split_text(_unwrap(body))):
            # the title and tags are embedded with the passage: short questions often match the title best
            content = f"{title} ({', '.join(meta.get('tags', []))})\n{chunk}"
            docs.append(Document(page_content=content, metadata={"guide": stem, "title": title, "passage": chunk,
                                                                 "part": i}))
    return docs


@lru_cache(maxsize=None)
def _passages(guide: str) -> list[str]:
    """A guide's passages in order (to quote a short passage with its neighbour)."""
    docs = [d for d in guide_documents() if d.metadata["guide"] == guide]
    return [d.metadata["passage"] for d in sorted(docs, key=lambda d: d.metadata["part"])]


def guide_store() -> InMemoryVectorStore:
    """The vector store over every guide passage (built once per process: ~20 passages, about a second)."""
    from tladvisor.chat.semantic import LOAD_LOCK

    with LOAD_LOCK:
        return _build_guide_store()


@lru_cache(maxsize=1)
def _build_guide_store() -> InMemoryVectorStore:
    store = InMemoryVectorStore(MiniLMEmbeddings())
    store.add_documents(guide_documents())
    return store


@dataclass
class Answer:
    """A free question's answer: the text to show and the guides it quotes."""

    text: str
    sources: list[str]
    score: float


def _licence_line(b: Backbone) -> str:
    verdict = {"yes": "commercial use is allowed", "no": "commercial use is NOT allowed",
               "unknown": "commercial use is not cleared"}[b.commercial_use]
    problem = b.licence_problem()
    return (f"**{b.name}** (`{b.source_id}`): licence {b.licence}; {verdict}"
            + (f" ({problem})" if problem else "") + ".")


def answer_question(question: str, k: int = 2, min_score: float = 0.25) -> Answer:
    """The best-matching guide passages for a question, quoted with their guide's title."""
    lines, sources = [], []
    named = named_backbones(question)
    if named and re.search(r"licen[cs]e|commercial|allowed|\bok\b|\buse\b|client|legal", question, re.IGNORECASE):
        lines += [_licence_line(b) for b in named]
    hits = guide_store().similarity_search_with_score(question, k=k)
    best = hits[0][1] if hits else 0.0
    kept = [(doc, score) for doc, score in hits if score >= min_score and score >= best - 0.05]
    by_guide: dict[str, list[Document]] = {}
    for doc, _ in kept:  # passages of one guide are quoted together, in the guide's order
        by_guide.setdefault(doc.metadata["title"], []).append(doc)
    for title, docs in by_guide.items():
        sources.append(title)
        parts = sorted({d.metadata["part"] for d in docs})
        if len(_passages(docs[0].metadata["guide"])[parts[0]]) < 200 and parts[0] > 0:
            parts.insert(0, parts[0] - 1)  # a short tail passage reads better with the one before it
        passages = [_passages(docs[0].metadata["guide"])[p] for p in parts]
        quote = "\n>\n> ".join("\n> ".join(p.splitlines()) for p in passages)
        lines.append(f"From the guide *{title}*:\n> {quote}")
    if not lines:
        return Answer("That is outside what I know: I scope transfer-learning projects. I can answer questions about "
                      "strategies, LoRA, data volume, licences, label quality, forgetting, learning rates, "
                      "evaluation, training time and what I can train.", [], best)
    return Answer("\n\n".join(lines), sources, best)


def capabilities_answer() -> str:
    """What the product trains and what it only advises on, quoted from its guide."""
    for stem, meta, body in markdown_documents("guides"):
        if stem == "capabilities":
            return f"From the guide *{meta.get('title', stem)}*:\n> " + "\n>\n> ".join(
                p.replace("\n", " ") for p in _unwrap(body).split("\n\n"))
    return "I train image and text classification; for other tasks I advise only."


def guide_context(question: str, k: int = 3) -> list[Document]:
    """Passages an LLM may phrase an answer from (the LLM path; see llm.py)."""
    return [doc for doc, _ in guide_store().similarity_search_with_score(question, k=k)]


def catalogue_facts(question: str) -> Optional[str]:
    """Licence facts for the backbones a question names, or None."""
    named = named_backbones(question)
    return "\n".join(_licence_line(b) for b in named) if named else None
