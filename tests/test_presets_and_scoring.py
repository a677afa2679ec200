"""The support package's presets (one set of defaults for Steps 3-5) and scoring helpers."""

import math

import pytest
import torch

from kogpt2_course.lm.presets import DEFAULT_PRESET, GENERATION_OPTIONS, PRESETS, preset_values, sampling_values
from kogpt2_course.lm.scoring import continuation_log_probs, continuations, distinct_n, mean_log_prob
from kogpt2_course.nlpbook.generation.inference import generate_reviews
from kogpt2_course.plots.distributions import plot_tradeoff
from kogpt2_course.web import params

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_every_preset_sets_every_form_option_validly():
    assert DEFAULT_PRESET in PRESETS
    for key, preset in PRESETS.items():
        assert set(preset.values) == set(GENERATION_OPTIONS), key
        assert set(preset.reasons) <= set(preset.values), f"{key}: a reason for an option it does not set"
        assert preset.use and preset.label and preset.reasons, key
        params.validate_params({"prompt": "이 영화", **preset.values})
    values = preset_values("review")
    values["top_k"] = 1
    assert PRESETS["review"].values["top_k"] != 1, "preset_values must return a copy"


def test_web_form_and_step4_use_the_same_defaults():
    default = PRESETS[DEFAULT_PRESET].values
    specs = {spec.name: spec.default for spec in params.param_specs()}
    assert {name: specs[name] for name in GENERATION_OPTIONS} == default
    assert {key: p["values"] for key, p in params.PRESETS.items()} == {key: p.values for key, p in PRESETS.items()}
    assert all(p["label"] == PRESETS[key].label for key, p in params.PRESETS.items())

    class Recorder:
        device = torch.device("cpu")

        def eval(self):
            return self

        def generate(self, prompt, **kwargs):
            self.kwargs = kwargs
            return prompt.repeat(kwargs["num_return_sequences"], 1)

    class Tokenizer:
        bos_token_id = eos_token_id = 1
        pad_token_id = 3

        def encode(self, text):
            return [500]

        def decode(self, ids, skip_special_tokens=True):
            return ""

    model = Recorder()
    generate_reviews(model, Tokenizer(), "긍정", num_samples=2)
    assert sampling_values("review").items() <= model.kwargs.items(), "Step 4 must sample with the review preset"


def test_no_preset_forbids_a_natural_korean_ending(tiny_tokenizer):
    """'영화가 너무 좋았다. 음악도 너무 좋았다.' repeats a 2-gram (너무 좋았다.): n=2 would forbid it, no preset may."""
    ids = tiny_tokenizer.encode("영화가 너무 좋았다. 음악도 너무 좋았다.")

    def has_repeat(n):
        grams = [tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)]
        return len(set(grams)) < len(grams)

    assert has_repeat(2), "the example must contain a repeated 2-gram"
    for key, preset in PRESETS.items():
        size = preset.values["no_repeat_ngram_size"]
        assert size == 0 or not has_repeat(size), f"{key}: no_repeat_ngram_size={size} forbids a natural sentence"


def test_sampling_values_leave_out_knobs_greedy_does_not_use():
    assert "temperature" not in sampling_values("factual") and sampling_values("factual")["num_beams"] == 3
    assert sampling_values("review") == preset_values("review")


def test_continuation_log_probs_stop_at_the_first_eos(tiny_model):
    output_ids = torch.tensor([[1, 500, 600, 700, 1, 3, 3], [1, 500, 610, 710, 720, 730, 740]])
    log_probs, mask = continuation_log_probs(tiny_model, output_ids, 2, eos_token_id=1)
    assert mask.tolist() == [[True, True, True, False, False], [True] * 5]
    with torch.no_grad():
        full = tiny_model(output_ids[1:2]).logits[0].log_softmax(-1)
    assert log_probs[1, 0] == pytest.approx(float(full[1, 610]), abs=1e-5)
    assert mean_log_prob(log_probs, mask) == pytest.approx(float(log_probs[mask].sum() / 8))
    assert continuations(output_ids, 2, eos_token_id=1) == [[600, 700], [610, 710, 720, 730, 740]]
    with pytest.raises(ValueError):
        continuation_log_probs(tiny_model, output_ids, 0)


def test_distinct_n_definition():
    assert distinct_n([[1, 2, 3, 4]] * 3, 2) == pytest.approx(3 / 9)
    assert distinct_n([[1, 2], [1, 2]], 2) == pytest.approx(1 / 2)
    assert distinct_n([[5], []], 2) == 0.0


def test_tradeoff_figure_is_written(tmp_path):
    path = plot_tradeoff({"top-k": [(0.1, -2.6, "1"), (0.9, -3.7, "50"), (1.0, -5.4, "끔")]}, "t.png", tmp_path,
                         title="다양성–품질", xlabel="distinct-2", ylabel="log p", references={"사람": -4.8})
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert math.isfinite(path.stat().st_size)
