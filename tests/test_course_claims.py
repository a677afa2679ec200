"""What the course text says about the libraries, checked against the pinned versions (transformers 5.23,
Lightning 2.6). If an upgrade changes one of these, the sentence in the step or the guide must change too."""

import lightning as L
import pytest
import torch
from transformers import (GPT2LMHeadModel, LogitsProcessorList, RepetitionPenaltyLogitsProcessor,
                          TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def generate(model, tokenizer, prompt, seed=None, **kwargs):
    input_ids = tokenizer.encode(prompt, return_tensors="pt")
    if seed is not None:
        torch.manual_seed(seed)
    with torch.no_grad():
        return model.generate(input_ids, attention_mask=torch.ones_like(input_ids), pad_token_id=3, **kwargs)


def test_from_pretrained_returns_eval_mode_and_fit_leaves_train_mode(bundled_dir):
    """Step 1 / guide: from_pretrained is already in eval mode; after trainer.fit a module stays in train mode."""
    assert not GPT2LMHeadModel.from_pretrained(bundled_dir).training

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Dropout(0.1))

        def training_step(self, batch, batch_idx):
            return self.layer(batch[0]).sum()

        def validation_step(self, batch, batch_idx):
            return self.layer(batch[0]).sum()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    module = Module()  # in train mode, as GenerationTask puts the model (model.train())
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(4, 2)), batch_size=2)
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu")
    trainer.fit(module, data, data)
    assert module.training and module.layer[1].training


def test_sampling_knobs_do_nothing_without_do_sample(tiny_model, tiny_tokenizer):
    """Step 2: do_sample is the switch; temperature/top-k/top-p are ignored by greedy."""
    plain = generate(tiny_model, tiny_tokenizer, "배우들 연기가", do_sample=False, max_new_tokens=6)
    knobs = generate(tiny_model, tiny_tokenizer, "배우들 연기가", do_sample=False, max_new_tokens=6,
                     temperature=0.3, top_k=5, top_p=0.5)
    assert plain.tolist() == knobs.tolist()


def test_top_k_zero_means_off_in_generate(tiny_model, tiny_tokenizer):
    """Step 2: top_k=0 keeps every token (same draws as top_k = vocabulary size); omitting top_k means 50."""
    off = generate(tiny_model, tiny_tokenizer, "이 영화", 0, do_sample=True, top_k=0, max_new_tokens=5)
    everything = generate(tiny_model, tiny_tokenizer, "이 영화", 0, do_sample=True, top_k=tiny_model.config.vocab_size, max_new_tokens=5)
    default = generate(tiny_model, tiny_tokenizer, "이 영화", 0, do_sample=True, max_new_tokens=5)
    fifty = generate(tiny_model, tiny_tokenizer, "이 영화", 0, do_sample=True, top_k=50, max_new_tokens=5)
    assert off.tolist() == everything.tolist() and default.tolist() == fifty.tolist()


def test_processor_order_is_penalty_temperature_top_k_top_p(tiny_model, tiny_tokenizer):
    """Step 3: generate modifies the logits in this order; another order gives another distribution."""
    prompt = "이 영화. 이 영화는 정말 최고다."
    input_ids = tiny_tokenizer.encode(prompt, return_tensors="pt")
    settings = dict(repetition_penalty=1.3, temperature=0.6, top_k=30, top_p=0.7)
    with torch.no_grad():
        out = tiny_model.generate(input_ids, attention_mask=torch.ones_like(input_ids), do_sample=True,
                                  max_new_tokens=1, pad_token_id=3, output_scores=True, return_dict_in_generate=True,
                                  **settings)
        logits = tiny_model(input_ids).logits[:, -1]
    steps = [RepetitionPenaltyLogitsProcessor(1.3), TemperatureLogitsWarper(0.6), TopKLogitsWarper(30),
             TopPLogitsWarper(0.7)]
    assert torch.allclose(LogitsProcessorList(steps)(input_ids, logits.clone()), out.scores[0])
    swapped = LogitsProcessorList([steps[0], steps[3], steps[1], steps[2]])(input_ids, logits.clone())
    assert not torch.equal(torch.isfinite(swapped), torch.isfinite(out.scores[0]))


def test_repetition_penalty_counts_the_prompt_once_per_token_type():
    """Step 3 / web form: every token id seen (prompt included) is penalised once, whatever its count."""
    scores = torch.tensor([[4.0, -2.0, 1.0, 0.5]])
    once = RepetitionPenaltyLogitsProcessor(2.0)(torch.tensor([[0, 1]]), scores.clone())
    thrice = RepetitionPenaltyLogitsProcessor(2.0)(torch.tensor([[0, 0, 0, 1, 1]]), scores.clone())
    assert once.tolist() == thrice.tolist() == [[2.0, -4.0, 1.0, 0.5]]
    rewarded = RepetitionPenaltyLogitsProcessor(0.5)(torch.tensor([[0, 1]]), scores.clone())
    assert rewarded.tolist() == [[8.0, -1.0, 1.0, 0.5]]


@pytest.mark.parametrize("length_penalty", [1.0, 2.0])
def test_beam_search_ranks_by_length_normalised_log_prob(tiny_model, tiny_tokenizer, length_penalty):
    """Step 2: finished beams are scored sum(log p) / new_tokens ** length_penalty."""
    input_ids = tiny_tokenizer.encode("감독이", return_tensors="pt")
    with torch.no_grad():
        out = tiny_model.generate(input_ids, attention_mask=torch.ones_like(input_ids), num_beams=3, do_sample=False,
                                  max_new_tokens=6, min_new_tokens=6, pad_token_id=3, output_scores=True,
                                  return_dict_in_generate=True, length_penalty=length_penalty)
        log_probs = tiny_model(out.sequences).logits[0, :-1].log_softmax(-1)
    total = float(log_probs.gather(-1, out.sequences[0, 1:, None])[input_ids.shape[1] - 1:].sum())
    assert float(out.sequences_scores[0]) == pytest.approx(total / 6 ** length_penalty, abs=1e-3)
