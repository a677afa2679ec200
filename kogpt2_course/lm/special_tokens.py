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
