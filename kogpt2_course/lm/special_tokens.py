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
