"""The digest's Jinja2 environment, its stylesheet and the CSS inliner, shared by render.py and
fragments.py."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_environment
from jinja2 import select_autoescape
from jinja2.filters import do_wordwrap

TEMPLATES = Path(__file__).parent / "templates"

ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    auto_reload=False,  # package files: no need to stat them on every render
)
INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
STYLESHEET = (TEMPLATES / "digest.css").read_text(encoding="utf-8")  # digest.html includes it


@lru_cache(maxsize=1024)
def _wrapped(environment: Environment, text: str, args: tuple, kwargs: tuple) -> str:
    return do_wordwrap(environment, text, *args, **dict(kwargs))


@pass_environment
def _cached_wordwrap(environment: Environment, text: str, *args, **kwargs) -> str:
    """Jinja's wordwrap, remembered: every message wraps the same paragraphs."""
    return _wrapped(environment, text, args, tuple(sorted(kwargs.items())))


ENVIRONMENT.filters["wordwrap"] = _cached_wordwrap
