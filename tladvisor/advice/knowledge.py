"""Locating and loading the knowledge base (YAML and Markdown files under `knowledge/`)."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is ~10x faster; fall back quietly where libyaml is absent
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


class KnowledgeError(RuntimeError):
    """The knowledge base is missing or malformed."""


def knowledge_dir() -> Path:
    """Directory of the knowledge base: $TLADVISOR_KNOWLEDGE, else `knowledge/` beside the package (a source
    checkout or editable install), else the copy a wheel installs as `tladvisor/_knowledge`."""
    env = os.environ.get("TLADVISOR_KNOWLEDGE")
    if env:
        path = Path(env)
    else:
        package = Path(__file__).resolve().parents[1]
        path = package.parent / "knowledge"
        if not (path / "rules.yaml").is_file():
            path = package / "_knowledge"
    if not (path / "rules.yaml").is_file():
        raise KnowledgeError(
            f"knowledge base not found at {path} (expected rules.yaml there); "
            "set TLADVISOR_KNOWLEDGE to the project's knowledge/ folder"
        )
    return path


@lru_cache(maxsize=None)
def _load_yaml(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path}: invalid YAML: {exc}") from exc


def load_yaml(name: str) -> Any:
    """Parsed content of `knowledge/<name>` (cached per process)."""
    return _load_yaml(str(knowledge_dir() / name))


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split a Markdown file with optional YAML front matter into (metadata, body)."""
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end != -1:
            meta = yaml.load(text[4:end], Loader=_Loader) or {}
            return meta, text[end + 4 :].lstrip("\n")
    return {}, text


@lru_cache(maxsize=None)
def _read_markdown_dir(path: str) -> tuple[tuple[str, dict[str, Any], str], ...]:
    out = []
    for file in sorted(Path(path).glob("*.md")):
        meta, body = split_front_matter(file.read_text(encoding="utf-8"))
        out.append((file.stem, meta, body))
    return tuple(out)


def markdown_documents(subdir: str) -> list[tuple[str, dict[str, Any], str]]:
    """(stem, front matter, body) for every Markdown file in `knowledge/<subdir>`."""
    return list(_read_markdown_dir(str(knowledge_dir() / subdir)))
