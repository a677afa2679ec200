"""Support modules of Steps 2–3 (not graded): loading, generate wrappers, and the figure helpers."""

import torch

from kogpt2_course.plots.distributions import plot_kept_sets, plot_metric_bars, plot_token_distributions
from kogpt2_course.lm.decoding import continuation_text, generate_ids, new_token_ids, next_token_logits, token_labels
from kogpt2_course.lm.loading import load_model_and_tokenizer


def test_load_model_and_tokenizer(bundled_dir, tiny_model):
    model, tokenizer = load_model_and_tokenizer(bundled_dir)
    assert not model.training
    assert (tokenizer.eos_token_id, tokenizer.pad_token_id) == (1, 3)
    ids = torch.tensor([[1, 500, 600]])
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, tiny_model(ids).logits)


def test_generate_wrappers_match_model(tiny_model, tiny_tokenizer):
    prompt = "배우들 연기가"
    input_ids = tiny_tokenizer.encode(prompt, return_tensors="pt")
    expected = tiny_model.generate(input_ids, attention_mask=torch.ones_like(input_ids), do_sample=False,
                                   max_new_tokens=5, pad_token_id=3, num_beams=2)
    output = generate_ids(tiny_model, tiny_tokenizer, prompt, 5, do_sample=False, num_beams=2)
    assert output.tolist() == expected.tolist()
    assert new_token_ids(tiny_tokenizer, prompt, output) == expected[0, input_ids.shape[1]:].tolist()
    with torch.no_grad():
        assert torch.equal(next_token_logits(tiny_model, tiny_tokenizer, prompt), tiny_model(input_ids).logits[0, -1])


def test_continuation_keeps_the_space_before_its_first_word(tiny_tokenizer):
    ids = tiny_tokenizer.encode("이 영화 보고 싶다")
    new = ids[len(tiny_tokenizer.encode("이 영화")):]
    assert tiny_tokenizer.decode(new) == "보고 싶다", "the sentencepiece decoder drops the leading space of what it decodes"
    assert continuation_text(tiny_tokenizer, "이 영화", new) == " 보고 싶다"


def test_token_labels_are_readable(tiny_tokenizer):
    ids = tiny_tokenizer.encode("이 영화 정말")
    labels = token_labels(tiny_tokenizer, ids)
    assert "".join(labels).replace("_", " ").strip() == "이 영화 정말"
    assert all(label.startswith("_") for label in labels), "단어 앞 공백(▁)이 보여야 합니다"
    assert token_labels(tiny_tokenizer, [1]) == ["</s>"]
    assert token_labels(tiny_tokenizer, tiny_tokenizer.encode("😤"))[-4:] == ["<0xF0>", "<0x9F>", "<0x98>", "<0xA4>"]


def test_figures_are_written(tmp_path):
    labels = ["영화", "_정말", "배우"]
    paths = [
        plot_token_distributions(labels, {"T = 0.5": [0.7, 0.2, 0.1], "T = 1.0": [0.5, 0.3, 0.2]}, "a.png", tmp_path,
                                 title="분포", notes={"T = 0.5": "엔트로피 0.80"}),
        plot_kept_sets(labels, [0.5, 0.3, 0.2], {"top-k": [True, True, False], "top-p": [True, False, False]},
                       "b.png", tmp_path, title="남긴 토큰"),
        plot_metric_bars({"그리디": {"distinct-1": 0.3}, "top-k": {"distinct-1": 0.9}}, "c.png", tmp_path),
    ]
    for path in paths:
        assert path.exists() and path.stat().st_size > 0 and path.read_bytes()[:4] == b"\x89PNG"
