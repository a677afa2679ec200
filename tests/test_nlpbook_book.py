"""The ratsnlp book's sentence-generation chapter, replayed on ``kogpt2_course.nlpbook``.

The book (ratsgo/nlpbook, "문장 생성 모델 파인튜닝하기" and "파인튜닝 마친 모델로 문장 생성하기") runs, in
this order: training arguments → ``nlpbook.set_seed`` → ``nlpbook.set_logger`` → downloading NSMC →
a tokenizer loaded with only ``eos_token="</s>"`` → ``NsmcCorpus`` + ``GenerationDataset`` (train and
test) → DataLoaders with ``RandomSampler`` / ``SequentialSampler`` and
``collate_fn=nlpbook.data_collator`` → ``GPT2LMHeadModel.from_pretrained`` → ``GenerationTask`` →
``nlpbook.get_trainer(args)`` → ``trainer.fit``; then, for inference, ``GenerationDeployArguments`` →
the best checkpoint's path → ``torch.load`` → ``load_state_dict`` with the ``model.`` prefix removed
into a ``GPT2LMHeadModel(config)`` → ``generate``. Only the import lines, the paths, the download
(rows written here instead) and Lightning 2's ``train_dataloaders=`` keyword differ.

The model folder is the bundled model with KoGPT2's hub-style files: a tokenizer_config.json that
sets no pad or bos token, and a config.json without ``pad_token_id``, so the book's tokenizer call
leaves ``pad_token`` unset and the collator must find ``<pad>`` on its own.
"""

import json
import math
import shutil

import pytest
import torch
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from kogpt2_course import nlpbook
from kogpt2_course.lm.special_tokens import pad_token_id_of
from kogpt2_course.nlpbook.generation import (GenerationDataset, GenerationDeployArguments, GenerationTask,
                                              GenerationTrainArguments, NsmcCorpus)

PAD_ID = 3  # KoGPT2's <pad>
TRAIN_ROWS = [(f"{subject} {verdict}", label) for subject in ("이 영화", "배우 연기", "음악", "결말")
              for verdict, label in (("정말 재밌었다", 1), ("너무 지루했다", 0), ("또 보고 싶다", 1),
                                     ("시간이 아까웠다", 0), ("강력 추천합니다 최고", 1), ("별로", 0))]
TEST_ROWS = [("화면이 예뻤다", 1), ("잠이 왔다", 0), ("웃음이 났다", 1), ("대사가 어색했다 정말로", 0),
             ("다시 보고 싶은 영화", 1), ("돈이 아깝다", 0)]


def write_rows(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.write("id\tdocument\tlabel\n")
        for i, (text, label) in enumerate(rows, start=1):
            f.write(f"{i}\t{text}\t{label}\n")


def hub_style_model(folder, bundled_dir, config_pad: bool):
    """The bundled weights and tokenizer, with KoGPT2-hub-like configs (no pad/bos in the tokenizer config)."""
    folder.mkdir()
    source = __import__("pathlib").Path(bundled_dir)
    for name in ("model.safetensors", "tokenizer.json", "generation_config.json"):
        (folder / name).symlink_to(source / name)
    config = json.loads((source / "config.json").read_text())
    if not config_pad:
        config.pop("pad_token_id")
    (folder / "config.json").write_text(json.dumps(config))
    tokenizer_config = json.loads((source / "tokenizer_config.json").read_text())
    for key in ("pad_token", "bos_token", "eos_token", "unk_token", "mask_token"):
        tokenizer_config.pop(key, None)
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    return str(folder)


def test_book_sequence_trains_and_reloads(tmp_path, bundled_dir, capsys, one_torch_thread):
    model_dir = hub_style_model(tmp_path / "kogpt2-like", bundled_dir, config_pad=False)

    # 코드4: 모델 환경 설정 (the book's values, with local folders and a tiny run)
    args = GenerationTrainArguments(
        pretrained_model_name=model_dir,
        downstream_corpus_name="nsmc",
        downstream_corpus_root_dir=str(tmp_path / "Korpora"),
        downstream_model_dir=str(tmp_path / "checkpoint-generation"),
        max_seq_length=32,
        batch_size=8,
        learning_rate=5e-4,
        epochs=1,
        tpu_cores=0,
        seed=7,
    )
    # 코드5, 코드6: 랜덤 시드 고정, 로거 설정
    nlpbook.set_seed(args)
    nlpbook.set_logger(args)
    # 코드7: 말뭉치 (the book downloads NSMC with Korpora; this test writes a few dozen rows)
    corpus_dir = tmp_path / "Korpora" / "nsmc"
    corpus_dir.mkdir(parents=True)
    write_rows(corpus_dir / "ratings_train.txt", TRAIN_ROWS)
    write_rows(corpus_dir / "ratings_test.txt", TEST_ROWS)
    # 코드8: 토크나이저 — only eos_token, as in the book
    tokenizer = PreTrainedTokenizerFast.from_pretrained(args.pretrained_model_name, eos_token="</s>")
    assert tokenizer.pad_token is None and tokenizer.bos_token is None, "the hub-style setup must leave pad/bos unset"
    # 코드9~11: 데이터셋과 데이터 로더
    corpus = NsmcCorpus()
    train_dataset = GenerationDataset(args=args, corpus=corpus, tokenizer=tokenizer, mode="train")
    train_dataloader = DataLoader(train_dataset, batch_size=args.batch_size,
                                  sampler=RandomSampler(train_dataset, replacement=False),
                                  collate_fn=nlpbook.data_collator, drop_last=False, num_workers=args.cpu_workers)
    val_dataset = GenerationDataset(args=args, corpus=corpus, tokenizer=tokenizer, mode="test")
    val_dataloader = DataLoader(val_dataset, batch_size=args.batch_size, sampler=SequentialSampler(val_dataset),
                                collate_fn=nlpbook.data_collator, drop_last=False, num_workers=args.cpu_workers)
    # 코드12~15: 모델, 태스크, 트레이너, 학습
    model = GPT2LMHeadModel.from_pretrained(args.pretrained_model_name)
    task = GenerationTask(model, args)
    trainer = nlpbook.get_trainer(args)
    trainer.fit(task, train_dataloaders=train_dataloader, val_dataloaders=val_dataloader)

    out = capsys.readouterr().out
    assert "[시드] 난수 시드를 7" in out and "[장치]" in out
    assert trainer.global_step == math.ceil(len(TRAIN_ROWS) / args.batch_size)

    # what the collator made of the book's tokenizer: </s> boundaries, <pad> padding, -100 labels
    batch = next(iter(val_dataloader))
    first = tokenizer.encode(f"부정 {TEST_ROWS[1][0]}")
    assert batch["input_ids"][1, :len(first) + 2].tolist() == [1, *first, 1]
    padding = batch["attention_mask"] == 0
    assert padding.any(), "the test rows have different lengths, so a batch has padding"
    assert (batch["input_ids"][padding] == PAD_ID).all(), "padding must be KoGPT2's <pad> (id 3), not </s>"
    assert (batch["labels"][padding] == -100).all() and (batch["labels"][~padding] == batch["input_ids"][~padding]).all()

    # Inference page (코드3~6): deploy arguments → checkpoint path → torch.load → a fresh model → generate
    deploy_args = GenerationDeployArguments(pretrained_model_name=model_dir,
                                            downstream_model_dir=args.downstream_model_dir)
    assert deploy_args.downstream_model_checkpoint_path == deploy_args.downstream_model_checkpoint_fpath
    pretrained_model_config = GPT2Config.from_pretrained(deploy_args.pretrained_model_name)
    fresh = GPT2LMHeadModel(pretrained_model_config)
    fine_tuned_model_ckpt = torch.load(deploy_args.downstream_model_checkpoint_fpath, map_location=torch.device("cpu"))
    fresh.load_state_dict({k.replace("model.", ""): v for k, v in fine_tuned_model_ckpt["state_dict"].items()})
    fresh.eval()
    task.model.eval()
    probe = torch.tensor([[1, *tokenizer.encode("긍정 배우 연기")]])
    with torch.no_grad():
        assert torch.allclose(fresh(probe).logits, task.model(probe).logits, atol=1e-5), \
            "the best checkpoint (one epoch: the only one) must hold the trained weights"
        input_ids = tokenizer.encode("긍정 아 정말", return_tensors="pt")
        generated_ids = fresh.generate(input_ids, attention_mask=torch.ones_like(input_ids), do_sample=True, top_k=50,
                                       top_p=1.0, min_length=5, max_length=12, pad_token_id=PAD_ID)
    text = tokenizer.decode([el.item() for el in generated_ids[0]])
    assert text.startswith("긍정 아 정말") and generated_ids.shape[1] > input_ids.shape[1]


def test_pad_id_from_config_or_clear_error(tmp_path, bundled_dir):
    """Tokenizer without a pad token: the config's pad_token_id; neither tokenizer, config nor vocabulary: Korean error."""
    model_dir = hub_style_model(tmp_path / "with-config-pad", bundled_dir, config_pad=True)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(model_dir, eos_token="</s>")
    folder = tmp_path / "data" / "rows"
    folder.mkdir(parents=True)
    write_rows(folder / "ratings_train.txt", TRAIN_ROWS[:3])
    args = GenerationTrainArguments(pretrained_model_name=model_dir, downstream_corpus_name="rows",
                                    downstream_corpus_root_dir=str(tmp_path / "data"))
    dataset = GenerationDataset(args=args, corpus=NsmcCorpus(), tokenizer=tokenizer, mode="train")
    assert dataset.pad_token_id == PAD_ID and dataset[0]["pad_token_id"] == PAD_ID
    assert pad_token_id_of(tokenizer, GPT2Config(pad_token_id=7)) == 7, "the config's pad_token_id comes before the vocabulary"

    class NoPadTokenizer:
        pad_token_id = None

        def get_vocab(self):
            return {"</s>": 1, "안녕": 10}

    with pytest.raises(ValueError, match=r"pad_token.*config\.json.*pad_token_id.*<pad>"):
        pad_token_id_of(NoPadTokenizer(), GPT2Config())
    with pytest.raises(ValueError, match="pad_token_id가 없습니다"):
        nlpbook.data_collator([{"input_ids": torch.tensor([1, 2, 1])}])
