"""Tagging with a stored model never imports scikit-learn: only training needs it, and every
parse worker of a scan holds a tagger, so the process tree stays small."""

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from scanner.classify import RuleMatcher, bundled_examples, fit_tagger, load_taxonomy
from scanner.tagging import PACKAGED_TAXONOMY, TaggerSpec

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
ITEM = ("Bokstart och högläsning på biblioteket",
        "Biblioteket startar bokcirklar för vuxna och läsfrämjande aktiviteter för barn.")

TAG_IN_A_FRESH_PROCESS = """
import json, sys
from pathlib import Path
from scanner.tagging import TaggerSpec
spec = TaggerSpec(sys.argv[1], Path(sys.argv[2]).read_bytes(), "test")
decision = spec.build().tag(sys.argv[3], sys.argv[4])
print(json.dumps({
    "sklearn": sorted(m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")),
    "relevant": decision.relevant, "lang": decision.lang,
    "tags": [[t.id, t.score, t.why, t.origin] for t in decision.tags],
}))
"""


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    taxonomy = load_taxonomy(PACKAGED_TAXONOMY)
    examples = bundled_examples([tag.id for tag in taxonomy.tags])[::3]
    tagger, _ = fit_tagger(taxonomy, RuleMatcher(taxonomy), examples, NOW)
    return tagger.model.to_bytes()


def test_a_process_that_loads_a_model_and_tags_never_imports_scikit_learn(model_bytes, tmp_path):
    path = tmp_path / "tag.model"
    path.write_bytes(model_bytes)
    done = subprocess.run([sys.executable, "-c", TAG_IN_A_FRESH_PROCESS, str(PACKAGED_TAXONOMY),
                           str(path), *ITEM], capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    assert found["sklearn"] == []
    expected = TaggerSpec(str(PACKAGED_TAXONOMY), model_bytes, "test").build().tag(*ITEM)
    assert found["tags"] == [[t.id, t.score, t.why, t.origin] for t in expected.tags]
    assert found["tags"] and found["relevant"] is expected.relevant is True
    assert found["lang"] == expected.lang == "sv"
