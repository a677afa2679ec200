"""KoGPT2's special-token conventions, shared by the bundled model and every step.

KoGPT2 (`skt/kogpt2-base-v2`) uses ``</s>`` as both bos and eos and puts its special tokens
first in the vocabulary; the bundled model keeps the same order, so the ids match too.
"""

BOS_TOKEN = "</s>"
EOS_TOKEN = "</s>"
UNK_TOKEN = "<unk>"
PAD_TOKEN = "<pad>"
MASK_TOKEN = "<mask>"

# Vocabulary order of KoGPT2: <s>=0, </s>=1, <usr>=2, <pad>=3, <sys>=4, <unk>=5, <mask>=6.
SPECIAL_TOKENS_IN_ID_ORDER = ["<s>", "</s>", "<usr>", "<pad>", "<sys>", "<unk>", "<mask>"]

# Exactly the keyword arguments students pass to PreTrainedTokenizerFast.from_pretrained.
TOKENIZER_KWARGS = dict(
    bos_token=BOS_TOKEN,
    eos_token=EOS_TOKEN,
    unk_token=UNK_TOKEN,
    pad_token=PAD_TOKEN,
    mask_token=MASK_TOKEN,
)


def document_boundary_id(tokenizer) -> int:
    """KoGPT2's document boundary ``</s>``: the tokenizer's bos token, or its eos token when bos is unset.

    The book loads the tokenizer with only ``eos_token="</s>"``; for KoGPT2 that is the same token
    (bos = eos = ``</s>``), so the eos id serves as the boundary.
    """
    for token_id in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if token_id is not None:
            return token_id
    raise ValueError("토크나이저에 bos_token도 eos_token도 없어 문서 경계(</s>)를 알 수 없습니다. "
                     f"PreTrainedTokenizerFast.from_pretrained(..., eos_token='{EOS_TOKEN}')처럼 불러오세요.")


def pad_token_id_of(tokenizer, config=None) -> int:
    """KoGPT2's padding id, from the first place that knows it:

    1. the tokenizer's ``pad_token`` (set by ``pad_token='<pad>'`` or the model's tokenizer_config.json);
    2. the model config's ``pad_token_id`` (``config``: a ``PretrainedConfig`` or None);
    3. the ``<pad>`` entry of the tokenizer's vocabulary (KoGPT2 keeps it at id 3).

    Raises a Korean ``ValueError`` naming what is missing when none of them has it.
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
