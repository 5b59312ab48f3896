"""Tagging with a stored model never imports scikit-learn: only training needs it, and every
parse worker of a scan holds a tagger, so the process tree stays small. Choosing the model (what
a scan's main process does) imports neither numpy nor scipy: only the workers tag."""

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from scanner.classify import RuleMatcher, bundled_examples, fit_tagger, load_taxonomy
from scanner.classify.model_format import ModelFormatError, unpacked_body
from scanner.settings import Settings
from scanner.tagging import PACKAGED_TAXONOMY, TaggerSpec, bootstrap_spec

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

CHOOSE_IN_A_FRESH_PROCESS = """
import json, sys
from datetime import datetime, timezone
from pathlib import Path
from scanner.tagging import bootstrap_spec
spec = bootstrap_spec(Path(sys.argv[1]), Path(sys.argv[2]), datetime.now(timezone.utc))
heavy = ("numpy", "scipy", "sklearn", "scanner.classify.features")
print(json.dumps({"imported": [m for m in heavy if m in sys.modules], "version": spec.version,
                  "size": len(spec.model)}))
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


def test_choosing_the_cached_bootstrap_model_imports_neither_numpy_nor_scipy():
    cache = Settings().cache_dir
    expected = bootstrap_spec(PACKAGED_TAXONOMY, cache, NOW)  # trains and caches it if need be
    done = subprocess.run([sys.executable, "-c", CHOOSE_IN_A_FRESH_PROCESS,
                           str(PACKAGED_TAXONOMY), str(cache)],
                          capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    assert found == {"imported": [], "version": expected.version, "size": len(expected.model)}


def test_a_damaged_cached_model_is_refused_without_unpickling_it(model_bytes, tmp_path):
    from scanner.tagging import _read_cached
    intact, damaged = tmp_path / "intact.model", tmp_path / "damaged.model"
    intact.write_bytes(model_bytes)
    damaged.write_bytes(model_bytes[: len(model_bytes) // 2])
    assert _read_cached(intact) == model_bytes
    assert _read_cached(damaged) is None  # so the bootstrap model is trained again
    with pytest.raises(ModelFormatError, match="damaged.*retrain"):
        unpacked_body(model_bytes[:-200])
