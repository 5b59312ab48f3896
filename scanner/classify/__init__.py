"""Tagging against the priority taxonomy: taxonomy.yaml, explainable keyword rules, a
scikit-learn model that learns from labels, their combination, and honest evaluation."""

from scanner.classify.combine import Blend, TagDecision, Tagger, TaggingError, TagScore, fit_tagger
from scanner.classify.evaluate import CrossValidation, Evaluation, cross_validate, evaluate
from scanner.classify.labels import (
    LabelledText,
    LabelsError,
    bundled_examples,
    read_labelled_jsonl,
    read_shared_labels,
    shared_labels_path,
)
from scanner.classify.model import ModelFormatError, ModelInfo, ModelScore, TagModel, TrainReport
from scanner.classify.rules import RuleHit, RuleMatcher
from scanner.classify.taxonomy import load_taxonomy

__all__ = [
    "Blend", "CrossValidation", "Evaluation", "LabelledText", "LabelsError", "ModelFormatError",
    "ModelInfo", "ModelScore", "RuleHit", "RuleMatcher", "TagDecision", "TagModel", "TagScore",
    "Tagger", "TaggingError", "TrainReport", "bundled_examples", "cross_validate", "evaluate",
    "fit_tagger", "load_taxonomy", "read_labelled_jsonl", "read_shared_labels",
    "shared_labels_path",
]
