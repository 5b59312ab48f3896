"""What every CLI module shares: the `--config DIR` option and the ScannerError wrapper."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from scanner.errors import ScannerError

config_option = click.option(
    "--config", "config_dir", type=click.Path(file_okay=False, path_type=Path),
    envvar="SCANNER_CONFIG_DIR", default=None,
    help="Folder with sources.yaml, taxonomy.yaml and digests/ (default: current folder).")


def run_safely(func):
    """Turn ScannerError into a clear message and exit code; tracebacks only with --verbose."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ScannerError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
    return wrapper
