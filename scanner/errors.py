"""One exception tree. Every message names the thing (file, line, source, item) and the fix."""


class ScannerError(Exception):
    """Base of every error the CLI turns into a message and an exit code."""

    exit_code = 2


class ConfigError(ScannerError):
    """A YAML file (sources, taxonomy, digest) is unreadable or invalid.

    `problems` holds every problem found, each already a full sentence with location and hint.
    """

    def __init__(self, path, problems):
        self.path = str(path)
        self.problems = list(problems)
        count = len(self.problems)
        header = f"{self.path}: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([header, *("  " + p for p in self.problems)]))


class SettingsError(ScannerError):
    """An environment setting (SCANNER_*) has a value that cannot be used."""


class StoreError(ScannerError):
    """The database cannot be opened or migrated."""


class UnknownSourceError(ScannerError):
    """A source id given on the command line is not in sources.yaml."""

    def __init__(self, source_id, known):
        hint = ", ".join(sorted(known)[:8])
        super().__init__(
            f"unknown source '{source_id}': it is not in sources.yaml (known ids include: {hint})"
        )
