"""scanner: omvärldsbevakning for Swedish regional library development."""

__version__ = "0.1.0"
