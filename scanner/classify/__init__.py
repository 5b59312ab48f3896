"""Tagging against the priority taxonomy: taxonomy.yaml, explainable keyword rules, a
scikit-learn model that learns from labels, their combination, and honest evaluation.

The names below are loaded from their modules when first used (PEP 562), so that importing one
light part (the taxonomy, the labels) does not import numpy, scipy and the model with it."""

from __future__ import annotations

import importlib

_HOMES = {
    "scanner.classify.combine": ("Blend", "TagDecision", "Tagger", "TaggingError", "TagScore",
                                 "fit_tagger"),
    # evaluate() itself is imported from scanner.classify.evaluate: once that submodule is
    # loaded, the package's attribute of the same name is the module, not the function.
    "scanner.classify.evaluate": ("CrossValidation", "Evaluation", "cross_validate"),
    "scanner.classify.labels": ("LabelledText", "LabelsError", "bundled_examples",
                                "read_labelled_jsonl", "read_shared_labels", "shared_labels_path"),
    "scanner.classify.model": ("ModelInfo", "ModelScore", "TagModel", "TrainReport"),
    "scanner.classify.model_format": ("ModelFormatError",),
    "scanner.classify.rules": ("RuleHit", "RuleMatcher"),
    "scanner.classify.taxonomy": ("load_taxonomy",),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
