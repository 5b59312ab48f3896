"""TagModel: features, training on a small synthetic set, thresholds, bytes round trip."""

import json
import pickle
import random
from datetime import datetime, timezone

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from scanner.classify.features import (
    _WORD, TextFeatures, _counts, _gram_matrix, _grams, _tokens, clean_text, l2_normalized,
    model_text, word_tokens,
)
from scanner.classify.labels import LabelledText
from scanner.classify.model import ModelFormatError, TagModel, best_threshold, grouped_folds
from scanner.classify.model_format import MAGIC

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
TAGS = ["lasning", "digital", "pengar", "sallsynt"]
TOPIC_WORDS = {
    "lasning": "läsfrämjande bokcirkel högläsning författarbesök läslust sommarboken".split(),
    "digital": "bankid e-tjänster surfplatta datorhjälp digitala mobilen".split(),
    "pengar": "budgeten nedskärningar statsbidrag besparingar anslaget kostnader".split(),
}
OFF_TOPIC = "fotboll matchen målvakten trafiken vägarbete vädret regnet halkan".split()
FILLER = "kommunen veckan arbetet under året också tillsammans många nya flera stora".split()


def synthetic(n: int = 80, seed: int = 0) -> list[LabelledText]:
    """Project-written toy items: topic words plus filler, six sources, some off-topic."""
    rng, examples = random.Random(seed), []
    for i in range(n):
        tags = tuple(rng.sample(sorted(TOPIC_WORDS), rng.choice([1, 1, 2]))) if i % 5 else ()
        pool = [w for t in tags for w in TOPIC_WORDS[t]] or OFF_TOPIC
        title = " ".join(rng.sample(pool, 2) + rng.sample(FILLER, 2))
        text = " ".join(rng.choice(pool) if rng.random() < 0.3 else rng.choice(FILLER)
                        for _ in range(40))
        examples.append(LabelledText(f"s{seed}-{i}", title, text, f"källa-{i % 6}", "sv", tags,
                                     bool(tags), origin="bundled" if i % 2 else "human"))
    return examples


@pytest.fixture(scope="module")
def trained():
    model = TagModel()
    report = model.train(synthetic(), TAGS, NOW)
    return model, report


def test_model_predicts_the_right_tags_on_new_items(trained):
    model, _ = trained
    fresh = synthetic(40, seed=7)
    predictions = model.predict([(e.title, e.text) for e in fresh])
    right = sum({t for t, s in p.items() if s.passed_threshold} == set(e.tags)
                for p, e in zip(predictions, fresh))
    assert right >= 36
    relevance = model.relevance([(e.title, e.text) for e in fresh])
    assert all((r >= model.relevance_threshold) == e.relevant for r, e in zip(relevance, fresh))


def test_thresholds_are_tuned_per_tag_with_a_fallback_for_rare_tags(trained):
    model, report = trained
    assert set(model.thresholds) == set(TAGS) and report.thresholds == model.thresholds
    assert model.thresholds["sallsynt"] == 0.5  # no positives: the fallback
    tuned = [model.thresholds[t] for t in TOPIC_WORDS]
    assert all(0.05 <= t <= 0.95 for t in tuned) and tuned != [0.5] * 3
    assert report.oof_scores.shape == (80, len(TAGS)) and report.oof_relevance.shape == (80,)


def test_best_threshold_cuts_between_the_scores_that_maximise_f1():
    scores = np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1])
    assert best_threshold(scores, np.array([1, 1, 1, 0, 0, 0])) == pytest.approx(0.5)
    assert best_threshold(scores, np.array([1, 1, 0, 1, 0, 0])) == pytest.approx(0.25)
    assert best_threshold(scores, np.array([1, 0, 0, 0, 0, 0])) == 0.5  # too few positives


def test_features_explain_a_passed_tag_with_its_words(trained):
    model, _ = trained
    scores = model.predict([("Bokcirkel och högläsning", "läslust bland barnen i kommunen")])[0]
    assert scores["lasning"].passed_threshold
    assert set(scores["lasning"].features) & {"bokcirkel", "högläsning", "läslust"}
    assert all(0.0 <= s.score <= 1.0 for s in scores.values())


def test_model_info_counts_labels_by_origin_and_keeps_cv_scores(trained):
    model, report = trained
    info = model.info
    assert info.labels == 80 and info.label_sources == {"bundled": 40, "human": 40}
    assert info.trained_at == NOW and info.version.startswith("tm1-")
    assert info.scores["classifier"] == report.classifier
    assert set(info.scores["candidates"]) == {"logreg", "svm"}
    assert info.scores["cv_micro_f1"] > 0.8
    assert set(info.scores["per_tag"]) == set(TAGS)


def test_training_is_deterministic():
    first, second = TagModel(), TagModel()
    first.train(synthetic(40), TAGS, NOW)
    second.train(synthetic(40), TAGS, NOW)
    assert first.to_bytes() == second.to_bytes()


def explained_one_by_one(model, x, row: int, column: int, top: int = 3) -> tuple[str, ...]:
    """The plain way: one pair, its useful word features sorted by contribution."""
    start, end = x.indptr[row], x.indptr[row + 1]
    cols = x.indices[start:end]
    useful = model._explainable[cols]
    cols = cols[useful]
    contrib = x.data[start:end][useful] * model._heads.weights[cols, column]
    best = np.argsort(-contrib, kind="stable")[:top]
    return tuple(model._features.terms[cols[k]] for k in best if contrib[k] > 0)


def test_features_explained_for_a_batch_are_those_of_each_pair_alone(trained):
    model, _ = trained
    items = [(e.title, e.text) for e in synthetic(25, seed=5)] + [("", ""), ("rubrik", "")]
    x, _ = model.score_matrix(items)
    pairs = [(row, column) for row in range(len(items)) for column in range(len(TAGS) + 1)]
    rows, columns = zip(*pairs)
    for top in (1, 3, 50):
        expected = [explained_one_by_one(model, x, r, c, top) for r, c in pairs]
        assert model.explain_many(x, rows, columns, top) == expected
    assert sum(map(bool, expected)) > len(items)  # most items have words that explain a tag
    assert model.explain_many(x, [], []) == []


def test_bytes_round_trip_predicts_the_same(trained):
    model, _ = trained
    copy = TagModel.from_bytes(model.to_bytes())
    items = [(e.title, e.text) for e in synthetic(10, seed=3)] + [("", ""), ("Bara rubrik", "")]
    assert copy.predict(items) == model.predict(items)
    assert copy.info == model.info and copy.thresholds == model.thresholds


def _with_header(data: bytes, **changes) -> bytes:
    header_line, body = data[len(MAGIC):].split(b"\n", 1)
    header = {**json.loads(header_line), **changes}
    return MAGIC + json.dumps(header).encode() + b"\n" + body


def test_bytes_of_another_version_are_refused_with_a_clear_message(trained):
    data = trained[0].to_bytes()
    with pytest.raises(ModelFormatError, match=r"scikit-learn 0\.1\.0.*retrain"):
        TagModel.from_bytes(_with_header(data, sklearn="0.1.0"))
    with pytest.raises(ModelFormatError, match=r"format version 99.*retrain"):
        TagModel.from_bytes(_with_header(data, format_version=99))
    with pytest.raises(ModelFormatError, match="not a scanner tag model"):
        TagModel.from_bytes(b"\x80\x04garbage")


def test_prediction_handles_empty_batches_and_odd_text(trained):
    model, _ = trained
    assert model.predict([]) == []
    odd = [("", ""), ("<b>Bokcirkel</b>", "<script>x()</script>&amp; läslust"),
           ("Rubrik", "ord " * 300_000)]
    assert len(model.predict(odd)) == 3


def test_word_features_match_scikit_learn_tfidf():
    docs = [model_text(e.title, e.text) for e in synthetic(30)]
    ours = TextFeatures().fit(docs)
    reference = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2,
                                token_pattern=r"\w+").fit(docs)
    assert sorted(ours.terms) == sorted(reference.vocabulary_)
    order = [reference.vocabulary_[t] for t in ours.terms]
    expected = reference.transform(docs[:5]).toarray()[:, order]
    words = ours.transform(docs[:5])[:, : len(ours.terms)].toarray()
    assert np.allclose(words, expected, atol=1e-6)


def test_l2_rows_are_bit_for_bit_those_of_scikit_learn_normalize():
    rng = np.random.default_rng(0)
    matrices = [sp.random(60, 400, density=d, format="csr", dtype=np.float32, random_state=k)
                for k, d in enumerate((0.0, 0.002, 0.05, 0.5))]
    for matrix in matrices:
        matrix.data *= rng.uniform(0.01, 50, len(matrix.data)).astype(np.float32)
    docs = [model_text(e.title, e.text) for e in synthetic(30)]
    features = TextFeatures().fit(docs)
    counts = features.transform(docs)
    counts.data = (counts.data * 7.3).astype(np.float32)  # no longer unit rows
    for matrix in [*matrices, counts]:
        ours, theirs = l2_normalized(matrix), normalize(matrix)
        assert ours.dtype == theirs.dtype == np.float32
        assert np.array_equal(ours.indptr, theirs.indptr)
        assert np.array_equal(ours.indices, theirs.indices)
        assert np.array_equal(ours.data.view(np.uint32), theirs.data.view(np.uint32))


def test_counts_are_the_canonical_matrix_of_scipys_coo_conversion():
    rng = np.random.default_rng(1)
    for rows_n, cols_n, n in ((1, 5, 0), (3, 1, 10), (50, 7000, 4000), (400, 30, 9000)):
        rows = np.sort(rng.integers(0, rows_n, n))
        cols = rng.integers(-3, cols_n, n)
        keep = cols >= 0
        expected = sp.coo_matrix((np.ones(keep.sum(), np.float32), (rows[keep], cols[keep])),
                                 shape=(rows_n, cols_n)).tocsr()
        expected.sum_duplicates()
        ours = _counts(rows, cols, (rows_n, cols_n))
        assert ours.dtype == expected.dtype == np.float32
        assert np.array_equal(ours.indptr, expected.indptr)
        assert np.array_equal(ours.indices, expected.indices)
        assert ours.indices.dtype == expected.indices.dtype
        assert ours.indptr.dtype == expected.indptr.dtype
        assert np.array_equal(ours.data, expected.data)
    wide = _counts(np.zeros(2, np.int64), np.array([0, 2**31 + 5]), (1, 2**31 + 6))
    assert wide.indices.dtype == wide.indptr.dtype == np.int64
    assert wide.indices.tolist() == [0, 2**31 + 5] and wide.indptr.tolist() == [0, 2]


@pytest.mark.parametrize("text", [
    "", "läs – mer”om§böcker…", "snake_case och __init__", "m² ½ Ⅻ x²y", "İstanbul straße",
    "ett\u00a0två\u2009tre\u2028fyra\x1cfem", "\ud800lone\udfffsurrogates", "emoji😀mitt",
    "٣ arabiska ٣siffror", "combining e\u0301 accent", "日本語のテキスト", " SEP kb:s 2024",
])
def test_word_tokens_are_those_of_the_regex(text):
    for sample in (text, text.casefold()):
        assert word_tokens(sample) == _WORD.findall(sample)


def test_word_tokens_are_those_of_the_regex_in_random_unicode():
    rng = random.Random(11)
    alphabet = [chr(c) for c in range(0x3000)] + ["\ud800", "\U0001f600", "\u0307"]
    for _ in range(3000):
        sample = "".join(rng.choice(alphabet) if rng.random() < 0.4 else rng.choice("ab åö1_ -")
                         for _ in range(rng.randint(0, 30)))
        assert word_tokens(sample) == _WORD.findall(sample), repr(sample)


def test_batch_tokens_are_those_of_the_regex_over_the_joined_documents():
    rng = random.Random(12)
    plain = list("abXYZSEP 019.,-:;'_<&\n") + list("åäöéÅÄÖÉ") + list("–—‘’“”•…\u00a0§«»")
    anything = [chr(c) for c in range(0x3000)] + ["\ud800", "\U0001f600", "\u0307"]
    for alphabet in (plain, plain + anything):
        for _ in range(2000):
            docs = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
                    for _ in range(rng.randint(0, 4))]
            expected = _WORD.findall(" SEP ".join(map(str.casefold, docs)))
            assert _tokens(docs) == expected, repr(docs)


def test_char_features_see_compound_words_and_unseen_words():
    features = TextFeatures(min_df=1).fit(["läsfrämjande insatser", "digital delaktighet"])
    x = features.transform(["läsfrämjandeinsatsen", "okänt"])
    chars = x[:, len(features.terms):]
    assert chars[0].nnz > 5 and x[0, : len(features.terms)].nnz == 0
    assert np.isclose(x.multiply(x).sum(axis=1).A1[0], 1.0)


def test_model_text_weighs_the_title_and_truncates():
    text = model_text("Rubrik", "a" * 50_000)
    assert text.count("Rubrik") == 3 and len(text) < 20_100
    assert clean_text("<p>Läs&nbsp;mer</p>").split() == ["Läs", "mer"]
    assert clean_text("BibliotekÃ¥ret i Ã¶ver") == "Bibliotekåret i över"


def test_grouped_folds_keep_each_group_on_one_side():
    groups = [f"g{i % 7}" for i in range(50)]
    folds = grouped_folds(groups, 5)
    assert len(folds) == 5
    for train, test in folds:
        assert not {groups[i] for i in train} & {groups[i] for i in test}
    assert grouped_folds(["one"] * 5) == []


def test_remembered_words_are_bounded_and_change_nothing():
    docs = ["läsfrämjande insatser i kommunen", "digital delaktighet för alla"]
    bounded = TextFeatures(min_df=1, max_words=20).fit(docs)
    fresh = [f"ord{i} läsfrämjandet nya{i}" for i in range(30)]
    first = bounded.transform(fresh).toarray()
    bounded.transform([f"annat{i}" for i in range(10)])  # too many: the learnt are forgotten
    assert len(bounded._rows) <= len(bounded.words) + 1 + 10
    again = TextFeatures(min_df=1).fit(docs).transform(fresh).toarray()
    assert np.allclose(first, again) and np.allclose(bounded.transform(fresh).toarray(), again)


def test_words_learnt_batch_by_batch_keep_their_own_gram_rows():
    features = TextFeatures(min_df=1).fit(["läsfrämjande insatser i kommunen",
                                           "digital delaktighet för alla"])
    rng = random.Random(4)
    letters = "abcdefghijklmnopqrstuvwxyzåäö"
    for size in (1, 3, 40, 2, 200, 7):
        features.transform([" ".join("".join(rng.choice(letters) for _ in range(6))
                                     for _ in range(size)) + " läsfrämjandet"])
    by_row = sorted(features._rows, key=features._rows.get)
    assert len(by_row) > len(features.words) + 250 and by_row[len(features.words)] == "SEP"
    expected = _gram_matrix([word if word != "SEP" else "" for word in by_row], features.grams)
    grown = features._w
    assert grown.shape == expected.shape and np.array_equal(grown.indptr, expected.indptr)
    assert np.array_equal(grown.indices, expected.indices)
    assert np.array_equal(grown.data, expected.data)
    restored = pickle.loads(pickle.dumps(features))  # keeps the fitted rows only
    assert restored._w.shape[0] == len(features.words) + 1
    docs = ["läsfrämjande och digital delaktighet", "okända ord här"]
    assert np.allclose(restored.transform(docs).toarray(), features.transform(docs).toarray())


def test_features_explained_for_pairs_in_any_order_with_tied_contributions(trained):
    import copy

    model = copy.deepcopy(trained[0])
    items = [(e.title, e.text) for e in synthetic(25, seed=6)]
    x, _ = model.score_matrix(items)
    x = x.copy()
    x.data = np.round(x.data * 4).astype(x.data.dtype) / 4  # many equal contributions
    weights = model._heads.weights
    model._heads.weights = (np.round(weights * 2) / 2).astype(weights.dtype)
    ties = 0
    rng = random.Random(3)
    pairs = [(rng.randrange(len(items)), rng.randrange(len(TAGS) + 1)) for _ in range(300)]
    rows, columns = zip(*pairs)
    for top in (1, 2, 3, 10):
        expected = [explained_one_by_one(model, x, r, c, top) for r, c in pairs]
        assert model.explain_many(x, rows, columns, top) == expected
    for row, column in pairs:
        start, end = x.indptr[row], x.indptr[row + 1]
        contrib = x.data[start:end] * model._heads.weights[x.indices[start:end], column]
        positive = contrib[contrib > 0]
        ties += len(positive) - len(set(positive.tolist()))
    assert ties > 100


def test_term_counts_equal_looking_up_every_bigram(trained):
    import scipy.sparse as sp

    from scanner.classify.features import _counts, _positions, _tokens

    features = trained[0]._features
    n = len(features.words)

    def every_bigram_looked_up(unigram, bigram, n_docs):
        (doc, ids), (pdoc, first, second) = unigram, bigram
        first, second = np.minimum(first, n), np.minimum(second, n)
        codes = first * n + second
        bi_codes = features._bi_codes
        pos = np.minimum(np.searchsorted(bi_codes, codes), max(len(bi_codes) - 1, 0))
        found = (first < n) & (second < n) & (bi_codes[pos] == codes)
        n_uni = len(features.terms) - len(bi_codes)
        cols = np.concatenate([features._uni_col[np.minimum(ids, n)],
                               np.where(found, pos + n_uni, -1)])
        return _counts(np.concatenate([doc, pdoc]), cols, (n_docs, len(features.terms)))

    docs = [model_text(e.title, e.text + " helt nya ord xyzzy") for e in synthetic(30, seed=11)]
    docs += ["", "xyzzy plugh", model_text("Bokcirkel", "högläsning bokcirkel högläsning")]
    ids = features._token_ids(_tokens(docs))
    unigram, bigram = _positions(ids, n)
    got, expected = features._term_counts(unigram, bigram, len(docs)), \
        every_bigram_looked_up(unigram, bigram, len(docs))
    assert isinstance(got, sp.csr_matrix) and got.shape == expected.shape
    for part in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(got, part), getattr(expected, part)), part
    assert got.nnz > 100 and (ids >= n).any()


def plain_grams(word: str) -> list[str]:
    """char_wb 3- to 5-grams, cut one by one (what _grams' slices made in advance must give)."""
    padded = f" {word} "
    return [padded[i:i + n] for n in (3, 4, 5) for i in range(len(padded) - n + 1)]


def test_gram_matrix_counts_each_words_char_grams():
    """The batch's n-grams, cut in one pass, are each word's n-grams counted row by row
    (words of zero, one and two letters included: they have fewer or no 4- and 5-grams; and
    words longer than those whose cuts are made in advance)."""
    rng = random.Random(7)
    letters = "abcåäöé_1"
    lengths = [0, 1, 2, 3, 60, 61, 62, 63, 64, 200] + [rng.randint(0, 9) for _ in range(300)]
    words = ["".join(rng.choice(letters) for _ in range(n)) for n in lengths]
    assert all(list(_grams(word)) == plain_grams(word) for word in words)
    index = {}
    for gram in (g for word in words for g in plain_grams(word)):
        if rng.random() < 0.7:  # some n-grams unknown: dropped
            index.setdefault(gram, len(index))
    expected = np.zeros((len(words), len(index)), np.float32)
    for row, word in enumerate(words):
        for gram in plain_grams(word):
            if gram in index:
                expected[row, index[gram]] += 1
    assert np.array_equal(_gram_matrix(words, index).toarray(), expected)
    assert _gram_matrix([], index).shape == (0, len(index))
