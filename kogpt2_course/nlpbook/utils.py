"""``set_seed(args)`` and ``set_logger(args)``, as the book calls them (``nlpbook.set_seed(args)``)."""

from __future__ import annotations

import logging
from dataclasses import asdict, is_dataclass

from kogpt2_course.nlpbook.quiet import quiet_library_output

logger = logging.getLogger("kogpt2_course")


def set_seed(args) -> None:
    """Fix Python's, NumPy's and PyTorch's random generators to ``args.seed`` (``None``: leave them random)."""
    if args.seed is None:
        print("[시드] args.seed가 None이라 난수 시드를 고정하지 않습니다 (실행마다 결과가 달라집니다).", flush=True)
        return
    import lightning as L

    L.seed_everything(args.seed, verbose=False)
    print(f"[시드] 난수 시드를 {args.seed}(으)로 고정했습니다.", flush=True)


def set_logger(args) -> logging.Logger:
    """The ``kogpt2_course`` logger at INFO level on the console, with the run's arguments logged once.

    It also quiets the libraries' English notices (Lightning's device and tip lines, known harmless
    warnings): see :func:`kogpt2_course.nlpbook.quiet.quiet_library_output`.
    """
    quiet_library_output()
    if not any(getattr(h, "_kogpt2_course", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
        handler._kogpt2_course = True
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    values = asdict(args) if is_dataclass(args) else dict(vars(args))
    logger.info("학습/평가 설정: %s", ", ".join(f"{k}={v!r}" for k, v in values.items()))
    return logger
