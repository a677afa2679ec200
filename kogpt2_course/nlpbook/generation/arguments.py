"""Arguments of fine-tuning and of deployment (ratsnlp's ``GenerationTrainArguments`` /
``GenerationDeployArguments``), with defaults that work on a laptop (folders relative to the
current directory, not Colab/Google-Drive paths). Every field has a Korean help text in
``metadata["help"]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kogpt2_course.nlpbook.checkpoints import best_checkpoint_path
from kogpt2_course.lm.resolution import BUNDLED_MODEL_DIR
from kogpt2_course.nlpbook.generation.sample_reviews import SAMPLE_CORPUS_NAME


def _f(default, help_text: str):
    return field(default=default, metadata={"help": help_text})


@dataclass
class GenerationTrainArguments:
    pretrained_model_name: str = _f(str(BUNDLED_MODEL_DIR), "출발점이 되는 사전 학습 모델 (허브 이름 또는 폴더)")
    downstream_task_name: str = _f("sentence-generation", "과제 이름 (기록용)")
    downstream_corpus_name: str = _f(SAMPLE_CORPUS_NAME, f"말뭉치 이름: '{SAMPLE_CORPUS_NAME}'(내장 예제), "
                                     "'nsmc'(없으면 내려받기) 또는 NSMC 형식 파일이 든 폴더 이름")
    downstream_corpus_root_dir: str = _f("data", "말뭉치 폴더들이 있는 상위 폴더")
    downstream_model_dir: str = _f("checkpoints/step4-nsmc-generation", "체크포인트(.ckpt)와 로그를 저장할 폴더")
    max_seq_length: int = _f(64, "예제 하나의 최대 토큰 수 (넘으면 자름)")
    batch_size: int = _f(32, "배치 크기")
    learning_rate: float = _f(5e-5, "최대 학습률 (AdamW)")
    weight_decay: float = _f(0.0, "AdamW의 weight decay")
    warmup_ratio: float = _f(0.1, "전체 학습 스텝 중 학습률을 0에서 올리는 비율 (그 뒤 선형 감소)")
    epochs: int = _f(3, "에폭 수 (전체 학습 데이터를 몇 번 볼지)")
    max_train_samples: int | None = _f(None, "학습 예제를 앞에서부터 N개만 사용 (None = 전부)")
    max_eval_samples: int | None = _f(None, "테스트 예제를 앞에서부터 N개만 사용 (None = 전부)")
    val_ratio: float = _f(0.1, "train_dataset.split_validation(args.val_ratio)가 학습 파일에서 검증용으로 떼어 "
                               "둘 비율 (체크포인트 선택용; 테스트 파일은 마지막 평가에만)")
    seed: int = _f(7, "난수 시드 (재현성)")
    save_top_k: int = _f(1, "val_loss가 가장 낮은 체크포인트를 몇 개 남길지 (last.ckpt는 따로)")
    monitor: str = _f("min val_loss", "최고 체크포인트 기준 ('min val_loss')")
    val_check_interval: float = _f(1.0, "검증 주기: 1.0 = 에폭마다, 0.25 = 에폭의 1/4마다, 정수 = N 스텝마다")
    log_every_n_steps: int = _f(10, "N 스텝마다 로그 기록")
    cpu_workers: int = _f(0, "데이터 로더 작업 프로세스 수 (0 = 메인 프로세스)")
    fp16: bool = _f(False, "GPU에서 16비트 혼합 정밀도 사용")
    tpu_cores: int = _f(0, "책(ratsnlp)과 같은 코드가 돌도록 받기만 하는 값: Lightning 2의 accelerator='auto'가 "
                           "TPU·GPU·CPU를 알아서 고르므로 쓰이지 않습니다")
    accelerator: str = _f("auto", "Lightning 가속기: 'auto'(GPU가 있으면 GPU, 없으면 CPU), 'gpu', 'cpu', 'mps', 'tpu'")
    devices: str = _f("auto", "장치 수 또는 번호: 'auto'(GPU면 보이는 GPU 모두, CPU면 프로세스 1개), '2', '0,1'. "
                              "2 이상이면 Lightning이 장치마다 프로세스를 띄워 DDP로 학습합니다")
    num_nodes: int = _f(1, "학습에 참여하는 컴퓨터(노드) 수. 노드마다 같은 명령을 NODE_RANK만 바꿔 실행합니다")
    strategy: str = _f("auto", "Lightning 분산 전략: 'auto'(장치가 2개 이상이면 ddp), 'ddp', 'ddp_spawn', 'fsdp' ...")
    resume: bool = _f(True, "다시 실행하면 last.ckpt에서 이어서 학습")
    overwrite_cache: bool = _f(False, "토큰화 캐시를 무시하고 다시 만들기")
    force_download: bool = _f(False, "말뭉치를 다시 내려받기(또는 내장 예제를 다시 쓰기)")


@dataclass
class GenerationDeployArguments:
    pretrained_model_name: str = _f(str(BUNDLED_MODEL_DIR), "미세 조정의 출발점이었던 사전 학습 모델")
    downstream_model_dir: str = _f("checkpoints/step4-nsmc-generation", "Step 4가 체크포인트를 저장한 폴더")
    max_seq_length: int = _f(64, "최대 토큰 수")

    @property
    def downstream_model_checkpoint_fpath(self) -> str | None:
        """The checkpoint with the lowest val_loss in ``downstream_model_dir`` (None if there is none)."""
        path = best_checkpoint_path(self.downstream_model_dir)
        return str(path) if path else None

    @property
    def downstream_model_checkpoint_path(self) -> str | None:
        """The same as :attr:`downstream_model_checkpoint_fpath` (the book's inference page uses this name)."""
        return self.downstream_model_checkpoint_fpath


def help_texts(cls) -> dict[str, str]:
    """``{field name: Korean help}`` of an arguments dataclass."""
    return {f.name: f.metadata.get("help", "") for f in cls.__dataclass_fields__.values()}


ENGINE_FIELDS = ("accelerator", "devices", "num_nodes", "strategy")  # Lightning's own Trainer options


def add_engine_arguments(parser, defaults: GenerationTrainArguments | None = None) -> None:
    """``--accelerator --devices --num_nodes --strategy``: Lightning's own options, passed to ``L.Trainer``
    unchanged by :func:`~kogpt2_course.nlpbook.trainer.get_trainer` (help texts from the dataclass)."""
    defaults = defaults if defaults is not None else GenerationTrainArguments()
    helps = help_texts(type(defaults))
    group = parser.add_argument_group("여러 장치·여러 컴퓨터로 학습 (Lightning의 옵션 그대로, 안내서 '규모 키우기')")
    for name in ENGINE_FIELDS:
        group.add_argument(f"--{name}", type=int if name == "num_nodes" else str, default=getattr(defaults, name),
                           help=helps[name])


def engine_arguments(cli) -> dict:
    """The :data:`ENGINE_FIELDS` values of parsed options ``cli`` (those it has), for the arguments dataclass."""
    return {name: getattr(cli, name) for name in ENGINE_FIELDS if hasattr(cli, name)}
