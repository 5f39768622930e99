"""The Hugging Face and vLLM call shapes of the logits processor, and the Hugging Face shapes
of the Gumbel-max sampler (``GumbelLogitsProcessor``) and of SynthID-Text's tournament
(``SynthIdLogitsProcessor``).

The work is ``wmark._wmark.Processor.apply`` (a batch) and ``apply_row`` (one row), and
``GumbelSampler.apply`` / ``choose`` (one row), in Rust with the GIL released. This module
only brings arrays to them without copying:

* a writable float32 numpy array is biased in place (any strides);
* a CPU float32 torch tensor is viewed through ``tensor.numpy()`` (the same memory) and
  biased in place;
* anything else (float16/bfloat16/float64, a tensor on an accelerator, a read-only array)
  is converted to a float32 copy, the green ids are found there, and exactly δ is added to
  those entries of the original, in its own dtype and on its own device.

Only the last ``config.context_len`` ids of each row are read by the green-list processor;
the Gumbel-max processor reads whole rows (the vLLM schemes count generated tokens from the
first step of a sequence).
"""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

import numpy as np

from wmark._wmark import (
    BatchShapeError,
    Config,
    GumbelSampler,
    GumbelState,
    InputError,
    Key,
    Processor,
    SynthIdProcessor,
    SynthIdState,
)


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


def _green_delta(config: Config) -> float:
    """δ of a green-list configuration (a Processor refuses the Gumbel-max ones, which have none)."""
    delta = config.delta
    if delta is None:
        raise InputError(f"the Gumbel-max scheme {config.scheme} has no delta: use wmark.GumbelLogitsProcessor")
    return delta


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
        self._delta = _green_delta(config)

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
        self._delta = _green_delta(processor.config)

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


def _ids_2d(ids: Any) -> Any:
    """Every id of every row, as a 2-D numpy array (a view where possible)."""
    if _is_torch(ids):
        t = ids.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        return t.numpy()
    return np.asarray(ids)


def _batch(input_ids: Any, scores: Any) -> Tuple[Any, int]:
    """The ids as a 2-D array and the number of rows, after checking both shapes."""
    ids = _ids_2d(input_ids)
    if ids.ndim != 2:
        raise InputError(f"input_ids must be 2-D (batch x sequence), got {ids.ndim} dimension(s)")
    ndim = scores.ndim if hasattr(scores, "ndim") else np.ndim(scores)
    if ndim != 2:
        raise InputError(f"scores must be 2-D (batch x vocab_size), got {ndim} dimension(s)")
    rows = int(scores.shape[0]) if hasattr(scores, "shape") else len(scores)
    if rows != ids.shape[0]:
        raise BatchShapeError(f"the batch has {rows} logits rows but {ids.shape[0]} contexts")
    return ids, rows


def _follow(states: List[Any], lengths: List[int], rows: int, length: int, new: Callable[[int], Any]) -> bool:
    """Keeps one state per batch row across calls (in place): new states when the batch size
    changes (then True), else a row whose length is not its previous length + 1 is reset."""
    if rows != len(states):
        states[:] = [new(r) for r in range(rows)]
        lengths[:] = [length] * rows
        return True
    for r in range(rows):
        if length != lengths[r] + 1:
            states[r].reset()
        lengths[r] = length
    return False


class GumbelLogitsProcessor:
    """A Hugging Face ``LogitsProcessor`` for the Gumbel-max schemes (``gumbel:h``,
    ``vllm-gumbel:w``, ``vllm-dual-key-gumbel:w``): ``processor(input_ids, scores) -> scores``.

    At each watermarked position the sampler chooses the token and every other entry of the
    row is set to -inf, so that the sampler of ``generate`` (``do_sample=True``; greedy works
    too) picks it; rows the sampler leaves to the engine (a context already used in the
    sequence, a context shorter than ``gumbel:h`` needs) are left unchanged. The sampler does
    its own temperature, top-k and top-p: give ``generate`` the same ones, which then matter
    only at the positions left unchanged. Beam search is not supported.

    One ``GumbelState`` is kept per batch row. A new generation is detected, and the states
    start over, when the batch size changes (new states) or when a row's length is not its
    previous length + 1 (that row's state is reset). A new ``generate`` call whose prompt is
    exactly one token longer than the previous sequence looks like the next step: call
    ``reset()`` between generations (or use a new processor) to be sure. ``seed`` seeds the
    dual key's router of the first state; each new state takes the next seed.

    The scores are changed in place when they are a writable float32 numpy array or a CPU
    float32 torch tensor; other dtypes and devices are chosen on a float32 copy and forced
    in their own dtype and device; anything else is returned as a new float32 numpy array.
    Not thread-safe: one processor per generation loop (the sampler may be shared).
    """

    def __init__(self, sampler: GumbelSampler, seed: int = 0) -> None:
        if not isinstance(sampler, GumbelSampler):
            raise TypeError(f"expected a wmark.GumbelSampler, got {type(sampler).__name__}")
        if not 0 <= seed < 2**64:
            raise ValueError(f"seed must be between 0 and 2**64 - 1, got {seed}")
        self._sampler = sampler
        self._seed = int(seed)
        self._created = 0
        self._states: List[GumbelState] = []
        self._lengths: List[int] = []

    @property
    def sampler(self) -> GumbelSampler:
        return self._sampler

    @property
    def config(self) -> Config:
        return self._sampler.config

    @property
    def key_id(self) -> str:
        return self._sampler.key_id

    @property
    def states(self) -> List[GumbelState]:
        """The state of each batch row of the current generation."""
        return list(self._states)

    def reset(self) -> None:
        """Starts over: the next call begins a new generation (whatever its shape)."""
        self._states = []
        self._lengths = []

    def _prepare(self, rows: int, length: int) -> None:
        def new(r: int) -> GumbelState:
            return self._sampler.create_state((self._seed + self._created + r) % 2**64)

        if _follow(self._states, self._lengths, rows, length, new):
            self._created += rows

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        ids, rows = _batch(input_ids, scores)
        self._prepare(rows, int(ids.shape[1]))
        return _force(self._sampler, self._states, ids, scores)

    def __repr__(self) -> str:
        return f"GumbelLogitsProcessor({self._sampler!r}, seed={self._seed})"


def _force(sampler: GumbelSampler, states: List[GumbelState], ids: Any, scores: Any) -> Any:
    """Forces each row's choice in ``scores``, in place where possible."""
    if isinstance(scores, np.ndarray):
        if scores.dtype == np.float32 and scores.flags.writeable:
            for r, state in enumerate(states):
                sampler.apply(state, ids[r], scores[r])
            return scores
        if not np.issubdtype(scores.dtype, np.floating):
            raise InputError(f"scores must be a floating-point array, got dtype {scores.dtype}")
        if not scores.flags.writeable:
            scores = scores.copy()
        if scores.dtype == np.float32:
            return _force(sampler, states, ids, scores)
        for r, state in enumerate(states):
            t = sampler.choose(state, ids[r], scores[r].astype(np.float32))
            if t is not None:
                keep = scores[r, t]
                scores[r] = -np.inf
                scores[r, t] = keep if np.isfinite(keep) else 0
        return scores
    if _is_torch(scores):
        import torch  # type: ignore[import-not-found]

        if not scores.is_floating_point():
            raise InputError(f"scores must be a floating-point tensor, got {scores.dtype}")
        if scores.device.type == "cpu" and scores.dtype == torch.float32:
            view = scores.detach().numpy()  # the same memory: forced in place
            for r, state in enumerate(states):
                sampler.apply(state, ids[r], view[r])
            return scores
        work = scores.detach().to(device="cpu", dtype=torch.float32).numpy()
        with torch.no_grad():
            for r, state in enumerate(states):
                t = sampler.choose(state, ids[r], work[r])
                if t is not None:
                    keep = scores[r, t].clone()
                    scores[r].fill_(float("-inf"))
                    scores[r, t] = keep if bool(torch.isfinite(keep)) else 0
        return scores
    arr = np.array(scores, dtype=np.float32)
    for r, state in enumerate(states):
        sampler.apply(state, ids[r], arr[r])
    return arr


class SynthIdLogitsProcessor:
    """A Hugging Face ``LogitsProcessor`` for SynthID-Text (``hf-synthid:n``):
    ``processor(input_ids, scores) -> scores``, as transformers'
    ``SynthIDTextWatermarkLogitsProcessor`` computes them (the tournament's log-probabilities,
    in float32; a context used within the last ``context_history_size`` steps of a row leaves
    that row unchanged). Put it after the warpers (temperature, top-k, top-p), as
    transformers does; ``generate`` then samples from its output.

    One ``SynthIdState`` is kept per batch row. A new generation is detected, and the states
    start over, when the batch size changes (new states) or when a row's length is not its
    previous length + 1 (that row's state is reset); call ``reset()`` between generations to
    be sure. The context of each step is the ids generated so far (0 before the first), never
    the prompt, as in transformers.

    The scores are changed in place when they are a writable float32 numpy array or a CPU
    float32 torch tensor; other dtypes and devices are computed on a float32 copy and written
    back in their own dtype and device; anything else is returned as a new float32 numpy
    array. Not thread-safe: one processor per generation loop (the ``SynthIdProcessor`` may be
    shared).
    """

    def __init__(self, processor: SynthIdProcessor) -> None:
        if not isinstance(processor, SynthIdProcessor):
            raise TypeError(f"expected a wmark.SynthIdProcessor, got {type(processor).__name__}")
        self._processor = processor
        self._states: List[SynthIdState] = []
        self._lengths: List[int] = []

    @classmethod
    def from_key(cls, config: Config, key: Key, context_history_size: int = 1024) -> SynthIdLogitsProcessor:
        """The processor of ``key`` under ``config``."""
        return cls(SynthIdProcessor(config, key, context_history_size=context_history_size))

    @property
    def processor(self) -> SynthIdProcessor:
        return self._processor

    @property
    def config(self) -> Config:
        return self._processor.config

    @property
    def key_id(self) -> str:
        return self._processor.key_id

    def reset(self) -> None:
        """Starts over: the next call begins a new generation (whatever its shape)."""
        self._states = []
        self._lengths = []

    def _prepare(self, rows: int, length: int) -> None:
        _follow(self._states, self._lengths, rows, length, lambda _: self._processor.create_state())

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        ids, rows = _batch(input_ids, scores)
        self._prepare(rows, int(ids.shape[1]))
        apply = self._processor.apply
        if isinstance(scores, np.ndarray):
            if not np.issubdtype(scores.dtype, np.floating):
                raise InputError(f"scores must be a floating-point array, got dtype {scores.dtype}")
            if scores.dtype == np.float32 and scores.flags.writeable:
                for r, state in enumerate(self._states):
                    apply(state, ids[r], scores[r])
                return scores
            out = scores if scores.flags.writeable else scores.copy()
            work = out.astype(np.float32)
            for r, state in enumerate(self._states):
                apply(state, ids[r], work[r])
            out[...] = work
            return out
        if _is_torch(scores):
            import torch  # type: ignore[import-not-found]

            if not scores.is_floating_point():
                raise InputError(f"scores must be a floating-point tensor, got {scores.dtype}")
            if scores.device.type == "cpu" and scores.dtype == torch.float32:
                view = scores.detach().numpy()  # the same memory: changed in place
                for r, state in enumerate(self._states):
                    apply(state, ids[r], view[r])
                return scores
            work = scores.detach().to(device="cpu", dtype=torch.float32).numpy().copy()
            for r, state in enumerate(self._states):
                apply(state, ids[r], work[r])
            with torch.no_grad():
                scores.copy_(torch.from_numpy(work).to(device=scores.device, dtype=scores.dtype))
            return scores
        arr = np.array(scores, dtype=np.float32)
        for r, state in enumerate(self._states):
            apply(state, ids[r], arr[r])
        return arr

    def __repr__(self) -> str:
        return f"SynthIdLogitsProcessor({self._processor!r})"
