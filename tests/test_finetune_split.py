"""The validation set Step 4 selects checkpoints on is split off the training file, never the test file."""

from collections import Counter
from dataclasses import replace

import pytest

from kogpt2_course.nlpbook.generation.arguments import GenerationTrainArguments
from kogpt2_course.nlpbook.generation.corpus import NsmcCorpus
from kogpt2_course.nlpbook.generation.dataset import GenerationDataset
from kogpt2_course.nlpbook.generation.sample_reviews import write_sample_corpus


@pytest.fixture(scope="module")
def sample_args(tmp_path_factory, bundled_dir):
    root = tmp_path_factory.mktemp("data")
    write_sample_corpus(root / "sample", n_train=400, n_test=100)
    with open(root / "sample" / "ratings_train.txt", "a", encoding="utf-8") as f:
        f.write("9001\t같은 리뷰가 두 번\t1\n9002\t같은 리뷰가 두 번\t1\n")  # a duplicate: must not straddle the split
    return GenerationTrainArguments(pretrained_model_name=bundled_dir, downstream_corpus_name="sample",
                                    downstream_corpus_root_dir=str(root), max_seq_length=64)


def ids(dataset):
    return [tuple(seq.tolist()) for seq in dataset.sequences]


def test_validation_split_comes_from_the_training_file_only(sample_args, tiny_tokenizer):
    corpus = NsmcCorpus()
    train_file = GenerationDataset(sample_args, corpus, tiny_tokenizer, "train")
    test = GenerationDataset(sample_args, corpus, tiny_tokenizer, "test")
    train, val = train_file.split_validation(sample_args.val_ratio)

    assert Counter(ids(train)) + Counter(ids(val)) == Counter(ids(train_file)), "the two parts are the training file"
    assert not set(ids(train)) & set(ids(val)), "no review (not even a duplicate) is on both sides"
    assert not set(ids(val)) & set(ids(test)), "the validation set shares nothing with the test file"
    assert 0.05 < len(val) / len(train_file) < 0.15, f"about val_ratio=0.1 of the file, got {len(val)}/{len(train_file)}"
    assert (train.mode, val.mode, val.pad_token_id) == ("train", "val", train_file.pad_token_id)

    again = GenerationDataset(replace(sample_args, max_train_samples=300), corpus, tiny_tokenizer, "train")
    _, val_again = again.split_validation(sample_args.val_ratio)
    assert set(ids(val_again)) <= set(ids(val)), "the split depends on the review, not on its row or the limit"

    with pytest.raises(ValueError, match="val_ratio"):
        train_file.split_validation(1.0)


def test_loss_by_part_adds_up_to_the_mean_loss(sample_args, tiny_model, tiny_tokenizer, one_torch_thread):
    """The control-code / review / final-</s> parts split every predicted token once, with the model's own loss."""
    import torch

    from kogpt2_course.nlpbook.generation.evaluation import format_part_losses, loss_by_part

    dataset = GenerationDataset(replace(sample_args, max_eval_samples=12), NsmcCorpus(), tiny_tokenizer, "test")
    parts = loss_by_part(tiny_model, tiny_tokenizer, dataset, batch_size=5)
    total, count = 0.0, 0
    with torch.no_grad():
        for seq in dataset.sequences:
            loss = tiny_model(seq[None], labels=seq[None]).loss.item()
            total += loss * (len(seq) - 1)
            count += len(seq) - 1
    assert sum(p.tokens for p in parts.values()) == count
    assert sum(p.nll * p.tokens for p in parts.values()) == pytest.approx(total, rel=1e-4)
    rows = NsmcCorpus().get_rows(f"{sample_args.downstream_corpus_root_dir}/sample", "test")[:12]
    code_tokens = sum(len(tiny_tokenizer.encode("긍정" if row.label == 1 else "부정")) for row in rows)
    assert parts["code"].tokens == code_tokens and parts["end"].tokens == len(dataset)
    assert "리뷰 본문" in format_part_losses(parts, parts)
