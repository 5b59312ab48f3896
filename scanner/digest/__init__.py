"""The weekly strategic digest: definitions (digests/*.yaml), select and rank, render, send.

Pure functions over archived items; the store (delivery log, sent-items history) and the CLI
are wired in by the core.
"""
