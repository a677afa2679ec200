"""The bundled Korean GPT-2: loads exactly like KoGPT2, and the model-resolution rules."""

import json
import socket
import threading
import time

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2LMHeadModel, PreTrainedTokenizerFast

from kogpt2_course.lm import resolution as model_resolution
from kogpt2_course.lm.resolution import BUNDLED_MODEL_DIR, HUB_MODEL_NAME, resolve_model_name
from kogpt2_course.lm.special_tokens import TOKENIZER_KWARGS
from kogpt2_course.lm.tokens import explain_tokens, round_trip_mismatches

KOGPT2_SPECIAL_IDS = {"</s>": 1, "<usr>": 2, "<pad>": 3, "<sys>": 4, "<unk>": 5, "<mask>": 6}


def test_tokenizers_load_like_kogpt2_with_the_same_special_ids():
    fast = PreTrainedTokenizerFast.from_pretrained(BUNDLED_MODEL_DIR, **TOKENIZER_KWARGS)
    auto = AutoTokenizer.from_pretrained(BUNDLED_MODEL_DIR)
    for tok in (fast, auto):
        assert tok.convert_tokens_to_ids(list(KOGPT2_SPECIAL_IDS)) == list(KOGPT2_SPECIAL_IDS.values())
        assert (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id, tok.unk_token_id, tok.mask_token_id) == (1, 1, 3, 5, 6)
        text = "배우들 연기가 정말 좋았어요 ㅎㅎ 10점!"
        ids = tok.encode(text)
        assert 1 not in ids, "KoGPT2처럼 encode는 특수 토큰을 붙이지 않아야 합니다"
        assert tok.decode(ids) == text
    assert fast.encode("이 영화 최고") == auto.encode("이 영화 최고")


ROUND_TRIP_TEXTS = ["이 영화", "안녕하세요. 한국어 GPT-2 입니다.😤:)l^o", "두 칸  띄고 끝에 공백  ", "줄\n바꿈\t탭",
                    "드문 글자: 龘 똠방각하 뷁 ㅋㅋㅋ ♥♥ ∑", "English words 123,456.78", "🎬🍿 최고!!!"]


def test_tokens_read_like_kogpt2s_word_pieces(tiny_tokenizer):
    """Character BPE with KoGPT2's word marker: a word that begins after a space starts with '▁'."""
    tokens = tiny_tokenizer.tokenize("배우들 연기가 너무 좋았어요")
    assert all(token.isprintable() for token in tokens), tokens
    assert "".join(tokens).replace("\u2581", " ").strip() == "배우들 연기가 너무 좋았어요"
    words = [t for t in tokens if t.startswith("\u2581")]
    assert len(words) == 4, f"단어 네 개가 모두 '▁'로 시작해야 합니다: {tokens}"
    assert tiny_tokenizer.tokenize("안녕하세요")[0].startswith("\u2581안"), "한 글자가 바이트 조각으로 쪼개지면 안 됩니다"


@pytest.mark.parametrize("text", ROUND_TRIP_TEXTS)
def test_any_text_round_trips_without_unk(tiny_tokenizer, text):
    """Any text that does not start with a space (a leading space is the word marker's, as in sentencepiece)."""
    ids = tiny_tokenizer.encode(text)
    assert tiny_tokenizer.unk_token_id not in ids
    assert tiny_tokenizer.decode(ids) == text


def test_token_tour_names_each_kind(tiny_tokenizer):
    """Step 1's "토큰 살펴보기": a word start, a piece inside a word, byte tokens, each named in Korean."""
    lines = explain_tokens(tiny_tokenizer, "안녕하세요 😤")
    assert "토큰" in lines[0] and len(lines) == 1 + len(tiny_tokenizer.tokenize("안녕하세요 😤")) + 1
    kinds = {kind for line in lines[1:-1] for kind in ("단어 시작", "단어 안의 조각", "바이트 토큰") if line.endswith(kind)}
    assert kinds == {"단어 시작", "단어 안의 조각", "바이트 토큰"}
    assert "바이트 토큰 4개" in lines[-1]


def test_round_trip_check_reports_what_does_not_come_back(tiny_tokenizer):
    assert round_trip_mismatches(tiny_tokenizer, ["보통 글", " 공백으로 시작"]) == [" 공백으로 시작"]


def test_rare_characters_are_spelled_in_byte_tokens(tiny_tokenizer):
    tokens = tiny_tokenizer.tokenize("😤")
    assert tokens[-4:] == ["<0xF0>", "<0x9F>", "<0x98>", "<0xA4>"]
    assert tiny_tokenizer.convert_tokens_to_ids(["<0x00>", "<0xFF>"]) == [7, 262], "바이트 토큰은 특수 토큰 바로 뒤 id 7–262"


def test_a_cut_inside_a_character_leaves_no_broken_character(tiny_tokenizer):
    """Generation that stops inside a byte-fallback character shows the text before it, never U+FFFD."""
    ids = tiny_tokenizer.encode("최고😤")
    first_byte = ids.index(tiny_tokenizer.convert_tokens_to_ids("<0xF0>"))
    for cut in range(first_byte + 1, first_byte + 4):
        assert tiny_tokenizer.decode(ids[:cut]) == "최고"
    stray = tiny_tokenizer.convert_tokens_to_ids(["<0x9F>", "<0xFF>"])  # bytes that cannot start a character
    assert tiny_tokenizer.decode(ids[:first_byte] + stray + tiny_tokenizer.encode(" 끝")) == "최고 끝"


def test_models_load_with_both_classes_and_take_256_positions():
    model = GPT2LMHeadModel.from_pretrained(BUNDLED_MODEL_DIR).eval()
    auto = AutoModelForCausalLM.from_pretrained(BUNDLED_MODEL_DIR).eval()
    assert model.config.n_positions >= 256
    assert (model.config.bos_token_id, model.config.eos_token_id, model.config.pad_token_id) == (1, 1, 3)
    ids = torch.randint(7, model.config.vocab_size, (1, model.config.n_positions))
    with torch.no_grad():
        logits = model(ids).logits
        assert torch.isfinite(logits).all()
        assert torch.allclose(logits, auto(ids).logits, atol=1e-5)


def test_bundled_folder_is_small_safetensors():
    files = {p.name: p.stat().st_size for p in BUNDLED_MODEL_DIR.iterdir()}
    assert "model.safetensors" in files and "pytorch_model.bin" not in files
    assert sum(files.values()) <= 40 * 1024 * 1024
    assert "README.md" in files, "모델 카드가 필요합니다"


def test_late_positions_are_trained():
    """Positions up to n_positions were trained, not left at their random initialisation.

    Untrained rows of the position embedding are i.i.d. noise: neighbouring rows have cosine
    similarity ~0 (std ~0.01 over 63 pairs). Trained rows vary smoothly with the position.
    """
    model = GPT2LMHeadModel.from_pretrained(BUNDLED_MODEL_DIR)
    wpe = model.transformer.wpe.weight.detach()
    late = wpe[model.config.n_positions - 64:model.config.n_positions]
    neighbours = torch.nn.functional.cosine_similarity(late[1:], late[:-1]).mean().item()
    assert neighbours > 0.1, f"positions {model.config.n_positions - 64}-{model.config.n_positions - 1} look untrained (neighbour cosine {neighbours:.3f})"


@pytest.mark.parametrize("choice,expected", [("bundled", str(BUNDLED_MODEL_DIR)), ("hub", HUB_MODEL_NAME),
                                              ("some/other-model", "some/other-model")])
def test_explicit_choice_wins(choice, expected, monkeypatch, capsys):
    monkeypatch.setenv(model_resolution.ENV_VAR, "hub")
    monkeypatch.setattr(model_resolution, "hub_model_status", lambda name: "found")  # a hub that has every name
    assert resolve_model_name(choice) == expected
    assert "--model" in capsys.readouterr().out


def test_environment_variable_forces_a_choice(monkeypatch, capsys):
    monkeypatch.setenv(model_resolution.ENV_VAR, "bundled")
    monkeypatch.setattr(model_resolution, "hub_model_in_cache", lambda: True)
    assert resolve_model_name(None) == str(BUNDLED_MODEL_DIR)
    assert model_resolution.ENV_VAR in capsys.readouterr().out


def test_cached_hub_model_is_preferred(monkeypatch, capsys):
    monkeypatch.delenv(model_resolution.ENV_VAR, raising=False)
    monkeypatch.setattr(model_resolution, "hub_model_in_cache", lambda: True)
    monkeypatch.setattr(model_resolution, "hub_reachable", lambda: False)
    offline = []
    monkeypatch.setattr(model_resolution, "use_offline_mode", lambda: offline.append(True))
    assert resolve_model_name(None) == HUB_MODEL_NAME
    assert "캐시" in capsys.readouterr().out
    assert offline, "without a hub, a cached model must be loaded in offline mode (no minutes of retries)"


def test_cache_detection_reads_the_hf_cache_layout(tmp_path):
    assert not model_resolution.hub_model_in_cache(cache_dir=str(tmp_path))
    repo = tmp_path / ("models--" + HUB_MODEL_NAME.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    assert model_resolution.hub_model_in_cache(cache_dir=str(tmp_path))


@pytest.fixture
def silent_server():
    """A local TCP server that accepts connections and never answers: a hub that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/api/models/x"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_offline_decision_is_quick_and_falls_back_to_bundled(monkeypatch, silent_server, capsys):
    monkeypatch.delenv(model_resolution.ENV_VAR, raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(model_resolution, "hub_model_in_cache", lambda: False)
    monkeypatch.setattr(model_resolution, "HUB_CHECK_URL", silent_server)
    started = time.monotonic()
    chosen = resolve_model_name(None)
    elapsed = time.monotonic() - started
    assert chosen == str(BUNDLED_MODEL_DIR)
    assert elapsed < 5.0, f"offline decision took {elapsed:.1f}s"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "포함된 작은 모델" in out


def test_hf_hub_offline_skips_the_network(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(model_resolution.urllib.request, "urlopen",
                        lambda *a, **k: pytest.fail("네트워크를 쓰면 안 됩니다"))
    assert model_resolution.hub_reachable() is False
