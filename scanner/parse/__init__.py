"""Parsing stage: fetched bodies to clean entries (feed.py, jsonfeed.py; text helpers in text.py).

May import only scanner.models, scanner.errors and third-party libraries.
"""

from scanner.parse.feed import parse_feed

__all__ = ["parse_feed"]
