"""bf16 autocast for Step 6: is it available on this device, and how long does a training step take with it?

``torch.autocast(device_type, dtype=torch.bfloat16)`` runs matrix products in bfloat16 (8 exponent bits
like float32, so no loss scaling is needed) and keeps reductions such as the loss in float32. Whether that
is faster depends on the hardware: recent GPUs (compute capability 8.0 and up) and CPUs with AVX512-BF16 or
AMX compute bf16 natively; elsewhere it is emulated and slower. So Step 6 measures instead of guessing.
"""

from __future__ import annotations

import time
from typing import Callable

import torch


def bf16_supported(device: torch.device | str) -> bool:
    """True where ``torch.autocast`` can run bf16: CUDA GPUs that support it, and every CPU (possibly slowly)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return device.type == "cpu"


def time_training_step(model, batch: dict, bf16: bool, loss_fn: Callable, repeats: int = 3) -> float:
    """Best time (s) of ``repeats`` forward+backward passes of ``loss_fn(model, batch, bf16)`` after one warm-up.

    The model is left as it was: gradients are cleared, the random-number generators restored
    (dropout draws from them), the weights untouched (no optimizer step).
    """
    device = next(model.parameters()).device
    best = float("inf")
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        for attempt in range(repeats + 1):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            loss_fn(model, batch, bf16).backward()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if attempt:  # attempt 0 is the warm-up
                best = min(best, time.perf_counter() - start)
            model.zero_grad(set_to_none=True)
    return best
