# 이 파일은 solutions/step5_solution.py 에서 자동으로 만들어졌습니다 (python -m kogpt2_course make-exercises).
# TODO 부분의 todo(...) 줄을 답으로 바꾸고 실행해 보세요. 채점: python -m kogpt2_course grade --step 5
# 막히면: python -m kogpt2_course hint N-M (부를 때마다 한 단계 더 자세한 힌트)
# %% [markdown]
# # Step 5. 웹 서비스 — 교실에서 함께 쓰는 문장 생성 데모
#
# 이 단계에서 배우는 것
# 1. 모델을 돌릴 장치(GPU/CPU)를 고릅니다.
# 2. `GenerationDeployArguments`로 Step 4의 미세 조정 결과(체크포인트 폴더)를 가리킵니다.
# 3. val_loss가 가장 낮은 체크포인트를 불러옵니다. 체크포인트가 없으면 사전 학습 모델을 그대로 쓰고
#    화면에 알림을 띄웁니다.
# 4. 웹 요청의 파라미터로 문장을 만드는 `inference_fn(prompt, **params)`를 씁니다.
# 5. 강의 패키지의 `create_app`으로 Flask 앱을 만들고, waitress 서버로 실행합니다.
#
# 여러분의 앱에는 교실 실습을 위한 기능이 더 붙습니다(`kogpt2_course/web/`): 토큰이 나오는 대로 보여 주는 실시간 생성,
# Step 4의 감성 제어 코드(긍정/부정)와 사전 학습 모델과 나란히 보기, 두 설정을 이름 없이 비교하는 A/B 투표(SQLite),
# 강사가 고치는 금지어 목록, 동시 요청 묶어 생성하기.
#
# 입력 검사(잘못된 값 → 한국어 오류 400), 동시 요청 줄 세우기(가득 차면 503), 보안 헤더는
# `kogpt2_course.web.app`이 맡습니다. 여러분은 "모델 ↔ 웹" 사이의 연결을 만듭니다.
#
# 실행: `python step5_web_service.py` → 브라우저에서 http://127.0.0.1:9001
# (교실 네트워크에 열기: `--host 0.0.0.0`, 옵션은 `--help`)

# %%
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

from kogpt2_course.cli.arguments import KoreanArgumentParser, UserError
from kogpt2_course.nlpbook.checkpoints import load_finetuned_model
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name
from kogpt2_course.grading.script_runner import run_main, todo
from kogpt2_course.lm.special_tokens import TOKENIZER_KWARGS
from kogpt2_course.nlpbook.generation.arguments import GenerationDeployArguments
from kogpt2_course.web.app import create_app
from kogpt2_course.web.content_filter import DEFAULT_BLOCKED_WORDS, ContentFilter
from kogpt2_course.web.engine import GenerationEngine
from kogpt2_course.web.params import DEFAULT_MAX_NEW_TOKENS_CAP, check_prompt_tokens
from kogpt2_course.web.server import add_server_arguments, check_port, serve
from kogpt2_course.web.votes import DEFAULT_VOTES_DB, VoteStore

DEFAULT_MODEL_DIR = GenerationDeployArguments.__dataclass_fields__["downstream_model_dir"].default


# %% [markdown]
# ## 1. 장치 고르기
# GPU(CUDA)가 있으면 GPU에서, 없으면 CPU에서 돌립니다. `--device cpu`처럼 직접 정할 수도 있습니다.

# %%
def choose_device(requested: str = "auto") -> torch.device:
    """'auto'면 CUDA가 있을 때 cuda, 없으면 cpu. 그 밖의 값('cpu', 'cuda:0' ...)은 그대로 씁니다."""
    # TODO 5-1: 'auto'가 아니면 요청한 장치를 그대로 PyTorch 장치 객체로 만들고, 'auto'면 CUDA GPU를 쓸 수
    #   있을 때 cuda, 아니면 cpu를 고르세요 (위 1절, PyTorch 문서의 torch.device와 torch.cuda)
    return todo("5-1")


# %% [markdown]
# ## 2. 배포 인자: 어느 모델에서 출발했고, 체크포인트는 어디에 있나
# ratsnlp와 같은 이름의 `GenerationDeployArguments`가 폴더에서 val_loss가 가장 낮은 체크포인트를 찾아
# `downstream_model_checkpoint_fpath`로 알려 줍니다 (없으면 None).

# %%
def build_deploy_arguments(pretrained_model_name: str, downstream_model_dir: str):
    """사전 학습 모델 이름과 Step 4 체크포인트 폴더로 GenerationDeployArguments를 만듭니다."""
    # TODO 5-2: 사전 학습 모델 이름과 Step 4 체크포인트 폴더를 담은 배포 인자 객체를 만들어 돌려주세요 (위
    #   2절, kogpt2_course/nlpbook/generation/arguments.py)
    return todo("5-2")


# %% [markdown]
# ## 3. 미세 조정한 모델 불러오기 (없으면 사전 학습 모델)
# Lightning 체크포인트의 `state_dict`에는 `model.` 접두사가 붙은 가중치가 들어 있습니다.
# `load_finetuned_model(deploy_args)`가 접두사를 떼고 GPT2LMHeadModel에 넣어 줍니다.

# %%
def no_checkpoint_notice(deploy_args) -> str:
    return (f"Step 4 체크포인트가 '{deploy_args.downstream_model_dir}'에 없어 미세 조정하지 않은 사전 학습 모델"
            f"({deploy_args.pretrained_model_name})을 그대로 씁니다. Step 4를 먼저 실행하면 미세 조정한 모델이 쓰입니다.")


def load_deploy_model(deploy_args, device):
    """(모델, 알림 문구)를 돌려줍니다. 모델은 device 위에서 평가 모드여야 합니다."""
    checkpoint_path = deploy_args.downstream_model_checkpoint_fpath
    notice = ""
    if checkpoint_path is None:
        notice = no_checkpoint_notice(deploy_args)
        print(f"[알림] {notice}", flush=True)
    else:
        print(f"[체크포인트] {checkpoint_path} 를 불러옵니다 (val_loss가 가장 낮은 것).", flush=True)
    # TODO 5-3: 체크포인트가 있으면(checkpoint_path가 None이 아니면) 미세 조정한 모델을, 없으면 사전 학습
    #   모델을 불러오세요. 어느 쪽이든 모델을 device로 옮기고 평가 모드로 둡니다 (위 3절,
    #   kogpt2_course/nlpbook/checkpoints.py)
    model = todo("5-3")
    return model, notice


# %% [markdown]
# ## 4. 추론 함수: 웹 파라미터 → `model.generate` → 문자열
# 웹 앱은 검사를 마친 값으로 `inference_fn(prompt, min_new_tokens=..., max_new_tokens=..., top_p=..., top_k=...,
# repetition_penalty=..., no_repeat_ngram_size=..., temperature=..., do_sample=..., num_beams=...)`를
# 부릅니다. 항목 이름이 `generate`의 인자 이름과 같고, 길이는 **새로 만들 토큰 수**입니다
# (ratsnlp의 옛 이름 `max_length`/`min_length`로 온 요청도 웹 앱이 이 이름으로 바꿔 줍니다).

# %%
def make_inference_fn(model, tokenizer, device):
    """웹 앱이 부를 inference_fn(prompt, **params) -> 프롬프트를 포함한 전체 문장."""
    n_positions = model.config.n_positions

    def inference_fn(prompt: str, **params) -> str:
        check_prompt_tokens(len(tokenizer.encode(prompt)), params["max_new_tokens"], n_positions)
        # TODO 5-4: 웹 파라미터로 문장을 생성하세요: 프롬프트를 인코딩해 모델과 같은 장치(device)로 옮기고,
        #   기울기 계산 없이 generate를 부릅니다. 길이는 새 토큰 수로(min_new_tokens는 최소, max_new_tokens는
        #   최대), 반복 억제·빔 수·샘플링 여부는 그대로 넘기고, 샘플링 손잡이(top_p, top_k, temperature)는
        #   샘플링을 켰을 때만 넘깁니다. 결과의 첫 줄을 특수 토큰 없이 디코딩합니다 (위 4절, Step 1의 TODO
        #   1-3~1-5)
        text = todo("5-4")
        return text

    return inference_fn


def make_next_token_fn(model, tokenizer, device):
    """화면의 '다음 토큰 후보': 프롬프트 바로 다음 토큰의 확률 상위 k개 (온도 1)."""

    def next_token_fn(prompt: str, k: int) -> list[dict]:
        input_ids = tokenizer.encode(prompt, return_tensors="pt").to(device)
        check_prompt_tokens(input_ids.shape[1], 1, model.config.n_positions)
        with torch.no_grad():
            probs = model(input_ids).logits[0, -1].float().softmax(-1)
        top = probs.topk(k)
        return [{"token": tokenizer.decode([token_id]), "probability": p}
                for token_id, p in zip(top.indices.tolist(), top.values.tolist())]

    return next_token_fn


# %% [markdown]
# ## 5. Flask 앱 만들기와 실행
# `create_app(inference_fn, ...)`은 서버 없이도 `app.test_client()`로 시험할 수 있는 Flask 앱을 돌려줍니다.
# 실행은 `serve(app, host=..., port=...)`: 기본은 이 컴퓨터에서만 접속되는 127.0.0.1:9001이고,
# 실제 WSGI 서버(waitress)로 돌립니다. Flask의 디버그 모드는 절대 켜지 않습니다.

# %%
def build_app(inference_fn, model_name: str = "", device: str = "cpu", notice: str = "",
              next_token_fn=None, max_new_tokens_cap: int = DEFAULT_MAX_NEW_TOKENS_CAP, **features):
    """inference_fn을 부르는 웹 앱(Flask)을 만듭니다. ``features``: 실습 기능(engine, votes, content_filter, ...)."""
    # TODO 5-5: 강의 패키지의 앱 공장 함수로 Flask 앱을 만드세요. build_app이 받은 값을 모두 넘깁니다 — 특히
    #   새 토큰 수의 상한(max_new_tokens_cap)을 빼먹으면 서버 보호가 기본값으로 돌아가고, 실습 기능
    #   묶음(features)을 빼먹으면 금지어·투표·실시간 생성이 꺼집니다 (위 5절, kogpt2_course/web/app.py)
    app = todo("5-5")
    return app


def run_server(app, host: str, port: int, development: bool = False, threads: int = 8) -> None:
    """앱을 서버로 띄웁니다 (Ctrl+C로 끝날 때까지)."""
    # TODO 5-6: 앱을 실제 WSGI 서버로 띄우세요: 받은 주소(host, port), 개발 모드 여부, 스레드 수를 그대로
    #   넘깁니다 (위 5절, kogpt2_course/web/server.py)
    todo("5-6")


# %% [markdown]
# ## 6. 실행해 보기

# %%
def main(argv: Sequence[str] | None = None) -> None:
    parser = KoreanArgumentParser(description="Step 5: 교실용 KoGPT2 문장 생성 웹 데모")
    add_model_argument(parser)
    parser.add_argument("--downstream_model_dir", default=DEFAULT_MODEL_DIR,
                        help="Step 4가 체크포인트(.ckpt)를 저장한 폴더 (없으면 사전 학습 모델을 씁니다)")
    parser.add_argument("--device", default="auto", help="'auto'(GPU가 있으면 GPU), 'cpu', 'cuda' ...")
    parser.add_argument("--max_new_tokens_cap", "--max_length_cap", type=int, default=DEFAULT_MAX_NEW_TOKENS_CAP,
                        help="한 요청이 만들 수 있는 새 토큰 수의 상한 (서버 보호, 옛 이름 --max_length_cap)")
    parser.add_argument("--blocked_words", default=str(DEFAULT_BLOCKED_WORDS),
                        help="금지어 목록 파일 (UTF-8, 한 줄에 낱말 하나, #으로 시작하는 줄은 주석; 빈 파일이면 거르지 않음)")
    parser.add_argument("--votes_db", default=str(DEFAULT_VOTES_DB), help="A/B 투표를 저장할 SQLite 파일")
    parser.add_argument("--export", metavar="CSV", default=None,
                        help="서버를 띄우지 않고 --votes_db의 투표를 CSV 파일(예: votes.csv)로 내보낸 뒤 끝냅니다")
    parser.add_argument("--one_at_a_time", action="store_true",
                        help="예전 방식: 요청을 묶지 않고 inference_fn으로 하나씩 (실시간 생성·감성 제어·나란히 보기도 꺼짐)")
    parser.add_argument("--torch_threads", type=int, default=None,
                        help="PyTorch CPU 스레드 수 (기본: 바꾸지 않음). 다른 작업과 CPU를 나눠 쓰면 1이 빠를 수 있습니다")
    add_server_arguments(parser)
    args = parser.parse_args(argv)
    if args.export:  # 강사용: 모델 없이 투표만 내보냅니다
        if not Path(args.votes_db).is_file():
            raise UserError(f"--votes_db {args.votes_db} : 투표 파일이 없습니다 (서버를 띄운 적이 있나요? 경로를 확인하세요).")
        try:
            count = VoteStore(args.votes_db).export_csv(args.export)
        except (ValueError, OSError) as exc:
            raise UserError(f"--export {args.export}: {exc}") from None
        print(f"[내보내기] 투표 {count}개를 {args.export} 에 썼습니다 ({args.votes_db}).", flush=True)
        return
    check_port(args.host, args.port)  # 포트가 쓰이고 있으면 모델을 불러오기 전에 바로 알립니다

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    device = choose_device(args.device)
    model_name = resolve_model_name(args.model)
    try:  # 잘못된 목록·투표 파일도 모델을 불러오기 전에 알립니다
        content_filter = ContentFilter.from_file(args.blocked_words)
        votes = VoteStore(args.votes_db)
    except (ValueError, OSError) as exc:
        raise UserError(f"{exc}") from None
    deploy_args = build_deploy_arguments(model_name, args.downstream_model_dir)
    model, notice = load_deploy_model(deploy_args, device)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(model_name, **TOKENIZER_KWARGS)
    cap = min(args.max_new_tokens_cap, model.config.n_positions - 1)
    print(f"[장치] {device} · 새 토큰 상한 {cap}개 · 금지어 {len(content_filter.words)}개", flush=True)
    content_filter.apply_to(model, tokenizer)  # 여러분의 inference_fn이 부르는 generate도 금지어를 만들지 않습니다

    features = dict(content_filter=content_filter, votes=votes)
    if not args.one_at_a_time:
        features["engine"] = GenerationEngine(model, tokenizer, content_filter=content_filter)
        if deploy_args.downstream_model_checkpoint_fpath is not None:  # Step 4 모델: 감성 제어와 나란히 보기
            baseline = GPT2LMHeadModel.from_pretrained(model_name).to(device).eval()
            features.update(control=True, baseline_engine=GenerationEngine(baseline, tokenizer,
                                                                            content_filter=content_filter))
    app = build_app(make_inference_fn(model, tokenizer, device), model_name=model_name, device=str(device),
                    notice=notice, next_token_fn=make_next_token_fn(model, tokenizer, device),
                    max_new_tokens_cap=cap, **features)
    run_server(app, host=args.host, port=args.port, development=args.dev, threads=args.threads)


if __name__ == "__main__":
    run_main(main)
