"""Which tagger a scan uses: taxonomy.yaml, its rules, and the newest model.

The newest model is the newest `scanner train` in the database. With none (a fresh install) the
bootstrap model is used: trained on the examples shipped in the package, once per machine, and
cached on disk under SCANNER_CACHE_DIR keyed by the examples, the taxonomy and the version.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from scanner import __version__
from scanner.classify.labels import bundled_examples
from scanner.classify.model_format import (
    FORMAT_VERSION,
    ModelFormatError,
    sklearn_version,
    unpacked_body,
)
from scanner.models import Item, ItemTag, Taxonomy, built, item_with

if TYPE_CHECKING:
    from scanner.classify.combine import TagDecision, Tagger

log = logging.getLogger("scanner")
PACKAGED_TAXONOMY = Path(__file__).resolve().parent / "classify" / "data" / "taxonomy.yaml"


@dataclass(frozen=True)
class TaggerSpec:
    """What a worker process needs to build the same tagger (picklable). `taxonomy`, when
    given, is taxonomy_path already loaded: workers then need not read and validate the YAML."""

    taxonomy_path: str
    model: bytes
    version: str
    taxonomy: Taxonomy | None = field(default=None, compare=False, repr=False)

    def build(self) -> Tagger:
        from scanner.classify.combine import Tagger
        from scanner.classify.model import TagModel
        from scanner.classify.rules import RuleMatcher
        from scanner.parse.language import detect_language, language_of_plain

        taxonomy = self.taxonomy or _load_taxonomy(self.taxonomy_path)
        model = TagModel.from_bytes(self.model)
        return Tagger(taxonomy, RuleMatcher(taxonomy), model, detect_language=detect_language,
                      language_of_plain=language_of_plain)


def taxonomy_path(config_dir: Path) -> Path:
    """The config folder's taxonomy.yaml, else the default shipped in the package."""
    own = config_dir / "taxonomy.yaml"
    return own if own.exists() else PACKAGED_TAXONOMY


def bootstrap_spec(path: Path, cache_dir: Path, now: datetime) -> TaggerSpec:
    """The model trained on the package's own examples, from the disk cache when it is there."""
    taxonomy = _load_taxonomy(path)
    key = _bootstrap_key(taxonomy, path)
    cached = cache_dir / f"bootstrap-{key}.model"
    model = _read_cached(cached)
    if model is None:
        model = _train_bootstrap(taxonomy, now)
        _write_cache(cached, model)
    return TaggerSpec(str(path), model, f"bootstrap-{key}", taxonomy)


def _load_taxonomy(path) -> Taxonomy:
    """taxonomy.yaml read and validated (pydantic and the YAML reader are imported here only:
    parse workers get the taxonomy already loaded and never need them)."""
    from scanner.classify.taxonomy import load_taxonomy
    return load_taxonomy(path)


def _bootstrap_key(taxonomy: Taxonomy, path: Path) -> str:
    examples = [e.id + e.title + e.text + ",".join(e.tags) for e in bundled_examples()]
    digest = hashlib.sha256(f"{__version__} {FORMAT_VERSION} {sklearn_version()}".encode())
    digest.update(Path(path).read_bytes())
    digest.update("\n".join(examples).encode())
    return digest.hexdigest()[:12]


def _train_bootstrap(taxonomy: Taxonomy, now: datetime) -> bytes:
    from scanner.classify.combine import fit_tagger
    from scanner.classify.rules import RuleMatcher

    log.info("training the bootstrap tag model on the bundled examples (once per machine)")
    examples = bundled_examples([tag.id for tag in taxonomy.tags])
    tagger, _ = fit_tagger(taxonomy, RuleMatcher(taxonomy), examples, now)
    return tagger.model.to_bytes()


def _read_cached(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
        unpacked_body(data)  # refuse a cache written by another scikit-learn, or damaged
        return data
    except (OSError, ModelFormatError):
        return None


def _write_cache(path: Path, model: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(model)
        temporary.replace(path)
    except OSError as exc:  # a read-only home is no reason to fail a scan
        log.warning("cannot cache the bootstrap model at %s: %s", path, exc)


@lru_cache(maxsize=4)
def build_tagger(spec: TaggerSpec) -> Tagger:
    return spec.build()


def tag_items(tagger: Tagger, version: str, items: list[Item]) -> list[Item]:
    """Items with their automatic tags, verdict and detected language."""
    rows = tagger.tag_rows([(i.title, i.summary) for i in items])
    return [_with_row(item, row, version) for item, row in zip(items, rows)]


def with_decision(item: Item, decision: TagDecision, version: str) -> Item:
    tags = [(t.id, t.score, t.why, t.origin) for t in decision.tags]
    return _with_row(item, (decision.relevant, tags, decision.lang), version)


def _with_row(item: Item, row: tuple, version: str) -> Item:
    """The item with a decision given as Tagger.tag_rows gives it: (relevant, its (tag, score,
    why, origin), language). The source's tags are not among its automatic tags: the item
    keeps them in its own `tags`."""
    relevant, tags, lang = row
    scores = tuple([_item_tag(*tag) for tag in tags if tag[3] != "source"]) if tags else ()
    return item_with(item, tag_scores=scores, relevant=relevant, lang=lang or item.lang,
                     tagger_version=version)


# ItemTag is a plain frozen dataclass with these four fields: its attributes are what its
# __init__ would set
_PLAIN_ITEM_TAG = (not hasattr(ItemTag, "__post_init__") and not hasattr(ItemTag, "__slots__")
                   and tuple(f.name for f in fields(ItemTag)) == ("tag", "score", "why", "origin"))


def _built_item_tag(tag: str, score: float, why: str, origin: str) -> ItemTag:
    """ItemTag(tag, score, why, origin) without the frozen dataclass's __init__ (it runs for
    every tag of every item)."""
    return built(ItemTag, tag=tag, score=score, why=why, origin=origin)


_item_tag = _built_item_tag if _PLAIN_ITEM_TAG else ItemTag
