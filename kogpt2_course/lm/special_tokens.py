"""KoGPT2의 특수 토큰 규칙 — 번들 모델과 모든 단계가 함께 씁니다.

KoGPT2(`skt/kogpt2-base-v2`)는 ``</s>``를 문장 시작(bos)과 끝(eos)으로 함께 쓰고 특수 토큰을 어휘 맨 앞에 둡니다.
번들 모델도 같은 순서라 id까지 같습니다.
"""

BOS_TOKEN = "</s>"
EOS_TOKEN = "</s>"
UNK_TOKEN = "<unk>"
PAD_TOKEN = "<pad>"
MASK_TOKEN = "<mask>"

# Vocabulary order of KoGPT2: <s>=0, </s>=1, <usr>=2, <pad>=3, <sys>=4, <unk>=5, <mask>=6.
SPECIAL_TOKENS_IN_ID_ORDER = ["<s>", "</s>", "<usr>", "<pad>", "<sys>", "<unk>", "<mask>"]

# 학생이 PreTrainedTokenizerFast.from_pretrained에 넘기는 키워드 인자와 똑같습니다.
TOKENIZER_KWARGS = dict(
    bos_token=BOS_TOKEN,
    eos_token=EOS_TOKEN,
    unk_token=UNK_TOKEN,
    pad_token=PAD_TOKEN,
    mask_token=MASK_TOKEN,
)


def document_boundary_id(tokenizer) -> int:
    """KoGPT2의 문서 경계 ``</s>``의 id: 토크나이저의 bos 토큰, bos가 없으면 eos 토큰.

    책은 토크나이저를 ``eos_token="</s>"``만 주고 불러옵니다. KoGPT2에서는 bos와 eos가 같은 ``</s>``이므로
    eos id가 곧 경계입니다.
    """
    for token_id in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if token_id is not None:
            return token_id
    raise ValueError("토크나이저에 bos_token도 eos_token도 없어 문서 경계(</s>)를 알 수 없습니다. "
                     f"PreTrainedTokenizerFast.from_pretrained(..., eos_token='{EOS_TOKEN}')처럼 불러오세요.")


def pad_token_id_of(tokenizer, config=None) -> int:
    """KoGPT2의 패딩 id를, 그것을 아는 첫 곳에서 찾습니다:

    1. 토크나이저의 ``pad_token`` (``pad_token='<pad>'``로 주었거나 모델의 tokenizer_config.json에 있을 때);
    2. 모델 설정의 ``pad_token_id`` (``config``: ``PretrainedConfig`` 또는 None);
    3. 토크나이저 어휘의 ``<pad>`` 항목 (KoGPT2는 id 3).

    셋 다 없으면 무엇이 없는지 말하는 한국어 ``ValueError``를 냅니다.
    """
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    config_pad = getattr(config, "pad_token_id", None)
    if config_pad is not None:
        return int(config_pad)
    vocab_pad = tokenizer.get_vocab().get(PAD_TOKEN)
    if vocab_pad is not None:
        return vocab_pad
    raise ValueError(
        "패딩 토큰 id를 알 수 없습니다: 토크나이저에 pad_token이 없고, 모델 설정(config.json)에 pad_token_id가 "
        f"없으며, 어휘에 '{PAD_TOKEN}' 토큰도 없습니다. 토크나이저를 "
        f"PreTrainedTokenizerFast.from_pretrained(..., pad_token='{PAD_TOKEN}')처럼 패딩 토큰을 주어 불러오세요.")
