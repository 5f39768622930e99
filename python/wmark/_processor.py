"""The Hugging Face and vLLM call shapes of the logits processor.

The work is ``wmark._wmark.Processor.apply`` (a batch) and ``apply_row`` (one row), in
Rust with the GIL released. This module only brings arrays to them without copying:

* a writable float32 numpy array is biased in place (any strides);
* a CPU float32 torch tensor is viewed through ``tensor.numpy()`` (the same memory) and
  biased in place;
* anything else (float16/bfloat16/float64, a tensor on an accelerator, a read-only array)
  is converted to a float32 copy, the green ids are found there, and exactly δ is added to
  those entries of the original, in its own dtype and on its own device.

Only the last ``config.context_len`` ids of each row are read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wmark._wmark import Config, InputError, Key, Processor


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _tail(ids: Any, h: int) -> Any:
    """The last ``h`` ids of every row (a view), as a numpy array."""
    if _is_torch(ids):
        t = ids[..., -h:] if h > 0 else ids[..., :0]
        t = t.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        return t.numpy()
    a = np.asarray(ids)
    return a[..., -h:] if h > 0 else a[..., :0]


def _context_1d(ids: Any, h: int) -> Any:
    """The last ``h`` ids of one sequence (a list, tuple, numpy array or tensor)."""
    if h == 0:
        return []
    if _is_torch(ids):
        return _tail(ids, h)
    if isinstance(ids, np.ndarray):
        return ids[-h:]
    return list(ids[-h:])


def _bias(apply: Any, context: Any, scores: Any, delta: float) -> Any:
    """Runs ``apply(context, float32 array)`` on ``scores`` in place where possible."""
    if isinstance(scores, np.ndarray):
        if scores.dtype == np.float32 and scores.flags.writeable:
            apply(context, scores)
            return scores
        if not scores.flags.writeable:
            if scores.dtype == np.float32:
                out = scores.copy()
                apply(context, out)
                return out
            scores = scores.copy()
        if not np.issubdtype(scores.dtype, np.floating):
            raise InputError(f"scores must be a floating-point array, got dtype {scores.dtype}")
        before = scores.astype(np.float32)
        work = before.copy()
        apply(context, work)
        changed = work != before
        scores[changed] += scores.dtype.type(delta)
        return scores
    if _is_torch(scores):
        import torch  # type: ignore[import-not-found]

        if not scores.is_floating_point():
            raise InputError(f"scores must be a floating-point tensor, got {scores.dtype}")
        if scores.device.type == "cpu" and scores.dtype == torch.float32:
            # Shares memory with the tensor: the bias lands in place.
            apply(context, scores.detach().numpy())
            return scores
        before = scores.detach().to(device="cpu", dtype=torch.float32).numpy()
        work = before.copy()
        apply(context, work)
        changed = torch.from_numpy(work != before).to(scores.device)
        with torch.no_grad():
            scores.add_(changed.to(scores.dtype) * delta)
        return scores
    arr = np.asarray(scores, dtype=np.float32).copy()
    apply(context, arr)
    return arr


class WatermarkLogitsProcessor:
    """A Hugging Face ``LogitsProcessor``: ``processor(input_ids, scores) -> scores``.

    ``input_ids`` is batch × sequence (the prompt and the tokens generated so far), ``scores``
    batch × vocab_size; δ is added to the green logits of every row, in place when the scores
    are a writable float32 numpy array or a CPU float32 torch tensor. Thread-safe: one
    processor may serve many threads (each call takes a scratch cache from a pool).

    ``finite=True`` tests only finite logits (after a top-k/top-p warper; same result).
    """

    def __init__(
        self,
        config: Config,
        key: Key,
        *,
        finite: bool = False,
        top_k: int = 40,
        mask_cache_bytes: int = 0,
    ) -> None:
        self._native = Processor(config, key, finite=finite, top_k=top_k, mask_cache_bytes=mask_cache_bytes)
        self._h = config.context_len
        self._delta = config.delta

    @property
    def config(self) -> Config:
        return self._native.config

    @property
    def key_id(self) -> str:
        return self._native.key_id

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        context = _tail(input_ids, self._h)
        if context.ndim != 2:
            raise InputError(f"input_ids must be 2-D (batch x sequence), got {context.ndim} dimension(s)")
        ndim = scores.ndim if hasattr(scores, "ndim") else np.ndim(scores)
        if ndim != 2:
            raise InputError(f"scores must be 2-D (batch x vocab_size), got {ndim} dimension(s)")
        return _bias(self._native.apply, context, scores, self._delta)

    def for_request(self) -> RequestLogitsProcessor:
        """The per-request callable of vLLM's ``logits_processors``."""
        return RequestLogitsProcessor(self._native)

    def __repr__(self) -> str:
        return f"WatermarkLogitsProcessor({self._native!r})"


class RequestLogitsProcessor:
    """vLLM's per-request shape: ``fn(token_ids, logits) -> logits`` with the ids generated
    so far and one row of logits, or ``fn(prompt_ids, token_ids, logits) -> logits``, where the
    prompt gives context to the first generated tokens (with the two-argument form, the
    first step has no context and is left unchanged, except for ``unigram``).
    """

    def __init__(self, processor: Processor) -> None:
        self._native = processor
        self._h = processor.config.context_len
        self._delta = processor.config.delta

    def __call__(self, *args: Any) -> Any:
        if len(args) == 2:
            token_ids, logits = args
            context = _context_1d(token_ids, self._h)
        elif len(args) == 3:
            prompt_ids, token_ids, logits = args
            context = _join_tail(prompt_ids, token_ids, self._h)
        else:
            raise TypeError("expected (token_ids, logits) or (prompt_ids, token_ids, logits)")
        ndim = logits.ndim if hasattr(logits, "ndim") else np.ndim(logits)
        if ndim != 1:
            raise InputError(f"logits must be 1-D (vocab_size), got {ndim} dimension(s)")
        return _bias(self._native.apply_row, context, logits, self._delta)


def _join_tail(prompt_ids: Any, token_ids: Any, h: int) -> Any:
    if h == 0:
        return []
    out = [int(t) for t in _context_1d(token_ids, h)]
    if len(out) < h:
        need = h - len(out)
        out = [int(t) for t in _context_1d(prompt_ids, need)] + out
    return out
