"""What the assistant knows: read from data files the city edits, never from code.

- the service catalogue ``intake/data/catalogue.json`` (``service:ID``),
- the facts ``intake/data/assistant/facts.yaml``: hours, contacts, rules (``fact:ID``),
- the tutorial scripts ``tutorials/scripts/*.yaml`` (``tutorial:SLUG``, chapters
  ``tutorial:SLUG#N``), each chapter linked at its start (``/tutorials/SLUG?t=SECONDS``)
  as ``chapters.yaml`` records it from the rendered videos (``scripts/assistant_chapters.py``),

- the frequent questions ``intake/data/assistant/faq.yaml`` (``faq:ID``),
- synonyms and the assistant's own words (``synonyms.yaml``, ``interface.yaml``).

A FAQ answer names every fee, date and document list as ``[[service:ID.FIELD]]`` or
``[[fact:ID.FIELD]]``; :func:`load` refuses an answer with a digit of its own, an unknown
reference or a missing language, so a mistake in the data shows when it is loaded, not
when a citizen asks.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from intake.assistant.language import LANGUAGES

_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = _ROOT / "intake" / "data" / "assistant"
CATALOGUE = _ROOT / "intake" / "data" / "catalogue.json"
TUTORIAL_SCRIPTS = _ROOT / "tutorials" / "scripts"
KNOWLEDGE_URL = "/assistent/wissen"
CONTACT_URL = "/assistent/kontakt"

REFERENCE = re.compile(r"\[\[(service|fact):([a-z0-9-]+)\.([a-z_]+)\]\]")
_DIGIT = re.compile(r"\d")

Value = str | list[str]


class KnowledgeError(ValueError):
    """A knowledge file that cannot be used, with the file and the entry named."""


@dataclass(frozen=True)
class Source:
    """Something an answer can cite: a title and a URL on this site, its values."""

    id: str
    url: str
    titles: dict[str, str]
    values: dict[str, dict[str, Value]]  # field -> language (de, en) -> value
    language: str | None = None  # a tutorial's single language

    def title(self, lang: str) -> tuple[str, bool]:
        """The title in ``lang`` or German (English for an English-only source), and
        whether it is in another language than asked."""
        if lang in self.titles:
            return self.titles[lang], False
        base = "de" if lang == "de-easy" else lang
        if base in self.titles:
            return self.titles[base], False
        first = "de" if "de" in self.titles else next(iter(self.titles))
        return self.titles[first], True

    def text(self) -> str:
        """Every value and title in every language: what a cited number must appear in."""
        parts: list[str] = list(self.titles.values())
        for per_lang in self.values.values():
            for value in per_lang.values():
                parts.extend(value if isinstance(value, list) else [value])
        return "\n".join(parts)


@dataclass(frozen=True)
class Document:
    """One searchable unit: a FAQ entry, a service, a fact or a tutorial chapter."""

    id: str
    kind: str  # faq, service, fact, tutorial
    texts: tuple[tuple[str, str], ...]  # (language, text) pairs that are searched
    answers: dict[str, str] = field(default_factory=dict)  # FAQ framing per language
    sources: tuple[str, ...] = ()
    personal: bool = False
    answer_texts: tuple[tuple[str, str], ...] = ()  # the filled answers, also searched


@dataclass
class Knowledge:
    sources: dict[str, Source]
    documents: list[Document]
    synonyms: dict[str, dict[str, list[str]]]
    interface: dict[str, Any]
    files: tuple[Path, ...]
    siblings: dict[str, list[str]] = field(default_factory=dict)  # a script's versions
    calibration: dict[str, Any] | None = None  # confidence.yaml: the fitted confidence model
    elsewhere: dict[str, list[str]] = field(default_factory=dict)  # topics answered elsewhere

    def text(self, lang: str, key: str) -> str:
        table: dict[str, str] = self.interface["text"].get(lang) or self.interface["text"]["de"]
        return table.get(key) or self.interface["text"]["de"][key]

    def page_title(self, path: str, lang: str) -> str:
        titles: dict[str, str] = self.interface["pages"].get(path, {})
        return titles.get(lang) or titles.get("de") or path

    def faq(self, faq_id: str) -> Document | None:
        for document in self.documents:
            if document.id == f"faq:{faq_id}":
                return document
        return None


def knowledge_files(data_dir: Path = DATA_DIR) -> tuple[Path, ...]:
    """The files the knowledge is read from; a change to any of them rebuilds it."""
    scripts = sorted(TUTORIAL_SCRIPTS.glob("*.yaml")) if TUTORIAL_SCRIPTS.is_dir() else []
    own = [
        data_dir / name
        for name in (
            "faq.yaml",
            "facts.yaml",
            "synonyms.yaml",
            "elsewhere.yaml",
            "confidence.yaml",
            "chapters.yaml",
        )
    ]
    return (CATALOGUE, *own, data_dir / "interface.yaml", *scripts)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ten times faster


def _yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_LOADER)  # noqa: S506 (a safe loader)
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path.name}: {exc}") from exc


def _services(path: Path) -> list[tuple[Source, Document]]:
    try:
        catalogue = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KnowledgeError(f"{path.name}: {exc}") from exc
    found = []
    for service in catalogue["services"]:
        values: dict[str, dict[str, Value]] = {}
        titles = {}
        texts: list[tuple[str, str]] = []
        for lang in ("de", "en"):
            entry = service.get(lang)
            if not entry:
                continue
            titles[lang] = entry["name"]
            for key, value in entry.items():
                values.setdefault(key, {})[lang] = value
            flat = [entry["name"], entry.get("summary", ""), *entry.get("bring", [])]
            flat += [entry.get("fee", ""), entry.get("deadline", "")]
            texts.append((lang, " ".join(flat)))
        url = service.get("url") or f"/#service-{service['id']}"  # its card on the start page
        source = Source(f"service:{service['id']}", url, titles, values)
        found.append((source, Document(source.id, "service", tuple(texts), sources=(source.id,))))
    return found


def _facts(path: Path) -> list[tuple[Source, Document]]:
    data = _yaml(path) or {}
    found = []
    for fact in data.get("facts", []):
        fact_id = fact["id"]
        values: dict[str, dict[str, Value]] = {}
        titles = {}
        texts: list[tuple[str, str]] = []
        for lang in ("de", "en"):
            entry = fact.get(lang)
            if not entry:
                continue
            titles[lang] = entry["title"]
            parts: list[str] = []
            for key, value in entry.items():
                values.setdefault(key, {})[lang] = value
                parts.extend(value if isinstance(value, list) else [str(value)])
            texts.append((lang, " ".join(parts)))
        if "de" not in titles:
            raise KnowledgeError(f"{path.name}: fact {fact_id!r} has no German text")
        source = Source(
            f"fact:{fact_id}", fact.get("url") or f"{KNOWLEDGE_URL}#{fact_id}", titles, values
        )
        found.append((source, Document(source.id, "fact", tuple(texts), sources=(source.id,))))
    return found


def fingerprint(version: dict[str, Any]) -> str:
    """What a rendered version's chapter times depend on: its language and its steps (as the
    script has them). ``chapters.yaml`` records it next to the times, so that times measured
    on an older text are not used for a changed one."""
    steps = [
        [str(step.get(key) or "") for key in ("heading", "text", "narration", "seconds")]
        for step in version.get("steps") or []
    ]
    payload = json.dumps([version.get("language", "de"), steps], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _chapter_starts(path: Path) -> dict[tuple[str, str], list[float]]:
    """(slug, fingerprint) -> each chapter's start in seconds, from ``chapters.yaml``."""
    data = (_yaml(path) or {}) if path.is_file() else {}
    starts: dict[tuple[str, str], list[float]] = {}
    for slug, entry in (data.get("tutorials") or {}).items():
        try:
            times = [float(t) for t in entry["starts"]]
            starts[(str(slug), str(entry["fingerprint"]))] = times
        except (KeyError, TypeError, ValueError) as exc:
            raise KnowledgeError(f"{path.name}: {slug}: {exc}") from exc
    return starts


def chapter_url(url: str, start: float | None) -> str:
    """The tutorial player's URL that starts the video at ``start`` seconds."""
    if start is None or start <= 0:
        return url
    return f"{url}?t={start:g}"


def _tutorials(
    paths: Iterable[Path], starts: dict[tuple[str, str], list[float]] | None = None
) -> tuple[list[tuple[Source, Document]], dict[str, list[str]]]:
    """Tutorial sources and chapter documents, and each slug's sibling versions. A chapter
    links to its start when ``starts`` has the times for the version's current text."""
    found: list[tuple[Source, Document]] = []
    siblings: dict[str, list[str]] = {}
    for path in paths:
        script = _yaml(path) or {}
        versions = script.get("versions", [])
        slugs = [v["slug"] for v in versions]
        for version in versions:
            slug, lang = version["slug"], version.get("language", "de")
            siblings[slug] = slugs
            title = version["title"]
            url = f"/tutorials/{slug}"
            whole = Source(f"tutorial:{slug}", url, {lang: title}, {}, language=lang)
            found.append(
                (
                    whole,
                    Document(
                        whole.id,
                        "tutorial",
                        ((lang, f"{title} {version.get('summary', '')}"),),
                        sources=(whole.id,),
                    ),
                )
            )
            times = (starts or {}).get((slug, fingerprint(version)), [])
            for number, step in enumerate(version.get("steps", []), start=1):
                heading = step.get("heading", "")
                narration = step.get("narration", "")
                start = times[number - 1] if len(times) == len(version["steps"]) else None
                chapter = Source(
                    f"tutorial:{slug}#{number}",
                    chapter_url(url, start),
                    {lang: f"{title} – {heading}"},
                    {"narration": {lang: narration}},
                    language=lang,
                )
                text = f"{title} {heading} {step.get('text', '')} {narration}"
                found.append(
                    (
                        chapter,
                        Document(chapter.id, "tutorial", ((lang, text),), sources=(chapter.id,)),
                    )
                )
    return found, siblings


def _check_answer(faq_id: str, lang: str, template: str, sources: dict[str, Source]) -> None:
    for kind, ref_id, field_name in REFERENCE.findall(template):
        source = sources.get(f"{kind}:{ref_id}")
        if source is None:
            raise KnowledgeError(f"faq.yaml: {faq_id} ({lang}) names unknown {kind}:{ref_id}")
        if field_name not in source.values:
            raise KnowledgeError(
                f"faq.yaml: {faq_id} ({lang}) names {kind}:{ref_id}.{field_name}, "
                f"which has no such field"
            )
    if _DIGIT.search(REFERENCE.sub("", template)):
        raise KnowledgeError(
            f"faq.yaml: {faq_id} ({lang}) writes a number itself; "
            f"name it as [[service:ID.FIELD]] or [[fact:ID.FIELD]] instead"
        )


def _page_source(spec: str, interface: dict[str, Any]) -> Source:
    path = spec.split("|", 1)[0]
    titles = dict(interface["pages"].get(path, {}))
    if not titles:
        titles = {"de": spec.split("|", 1)[-1]}
    return Source(f"page:{path}", path, titles, {})


def _faq(path: Path, sources: dict[str, Source], interface: dict[str, Any]) -> list[Document]:
    data = _yaml(path) or {}
    documents = []
    seen: set[str] = set()
    for entry in data.get("faq", []):
        faq_id = entry["id"]
        if faq_id in seen:
            raise KnowledgeError(f"faq.yaml: {faq_id} appears twice")
        seen.add(faq_id)
        answers: dict[str, str] = entry.get("answer") or {}
        missing = [lang for lang in LANGUAGES if not answers.get(lang)]
        if missing:
            raise KnowledgeError(f"faq.yaml: {faq_id} has no answer in {', '.join(missing)}")
        for lang, template in answers.items():
            _check_answer(faq_id, lang, template, sources)
        cited: list[str] = []
        for spec in entry.get("sources") or []:
            if spec.startswith("page:"):
                page = _page_source(spec[len("page:") :], interface)
                sources.setdefault(page.id, page)
                cited.append(page.id)
            elif spec in sources:
                cited.append(spec)
            else:
                raise KnowledgeError(f"faq.yaml: {faq_id} cites unknown source {spec}")
        texts: list[tuple[str, str]] = []
        for lang, questions in (entry.get("questions") or {}).items():
            texts.extend((lang, q) for q in questions)
        for lang, words in (entry.get("keywords") or {}).items():
            texts.append((lang, words))
        documents.append(
            Document(
                f"faq:{faq_id}",
                "faq",
                tuple(texts),
                answers=answers,
                sources=tuple(cited),
                personal=bool(entry.get("personal")),
            )
        )
    return documents


def load(data_dir: Path = DATA_DIR) -> Knowledge:
    """Read and check every knowledge file."""
    files = knowledge_files(data_dir)
    interface = _yaml(data_dir / "interface.yaml")
    sources: dict[str, Source] = {}
    documents: list[Document] = []
    scripts = [p for p in files if p.parent == TUTORIAL_SCRIPTS]
    tutorial_parts, siblings = _tutorials(scripts, _chapter_starts(data_dir / "chapters.yaml"))
    for source, document in [
        *_services(CATALOGUE),
        *_facts(data_dir / "facts.yaml"),
        *tutorial_parts,
    ]:
        sources[source.id] = source
        documents.append(document)
    faq = _faq(data_dir / "faq.yaml", sources, interface)
    synonyms = _yaml(data_dir / "synonyms.yaml") or {}
    model = data_dir / "confidence.yaml"
    calibration = _yaml(model) if model.is_file() else None
    elsewhere = data_dir / "elsewhere.yaml"
    topics = (_yaml(elsewhere) or {}) if elsewhere.is_file() else {}
    knowledge = Knowledge(sources, [], synonyms, interface, files, siblings, calibration, topics)
    for index, document in enumerate(faq):
        filled = tuple(
            (lang, fill(template, knowledge, lang)[0])
            for lang, template in document.answers.items()
        )
        faq[index] = replace(document, answer_texts=filled)
    knowledge.documents = [*faq, *documents]
    return knowledge


def fill(template: str, knowledge: Knowledge, lang: str) -> tuple[str, list[str], bool]:
    """The answer with its references replaced by the data's values.

    Returns the text, the ids of the sources it read, and whether a value had to be
    given in German because the source has none in ``lang``.
    """
    used: list[str] = []
    german = False

    def value(match: re.Match[str]) -> str:
        nonlocal german
        kind, ref_id, field_name = match.groups()
        source = knowledge.sources[f"{kind}:{ref_id}"]
        if source.id not in used:
            used.append(source.id)
        per_lang = source.values[field_name]
        base = "de" if lang == "de-easy" else lang
        if base in per_lang:
            chosen = per_lang[base]
        else:
            chosen = per_lang["de"]
            german = True
        text = "; ".join(chosen) if isinstance(chosen, list) else chosen
        return text.rstrip(".") if match.end() < len(template) else text

    return REFERENCE.sub(value, template), used, german
