"""wmark: KGW green-list and Gumbel-max watermarks for language models, from Python.

Thin bindings of the Rust crates (wmark-core, wmark-processor, wmark-detect): the native
module ``wmark._wmark`` does the work, with the GIL released; this package adds the Hugging
Face and vLLM call shapes and torch support. Green lists bias logits
(``WatermarkLogitsProcessor``); the distortion-free Gumbel-max schemes (``gumbel:h``, and
vLLM's ``vllm-gumbel:w`` and ``vllm-dual-key-gumbel:w`` with a ``Key.from_vllm`` key) choose
the token (``GumbelSampler``, ``GumbelLogitsProcessor``); Hugging Face's SynthID-Text
(``hf-synthid:n`` with a ``Key.from_synthid`` key) reshapes the distribution by tournament
(``SynthIdProcessor``, ``SynthIdLogitsProcessor``); ``Detector`` tests them all.

>>> import numpy as np, wmark
>>> key = wmark.Key.from_bytes(bytes(range(32)))
>>> config = wmark.Config("lefthash", gamma=0.25, delta=2.0, vocab_size=1000)
>>> processor = wmark.WatermarkLogitsProcessor(config, key)
>>> scores = processor(np.array([[5, 17]]), np.zeros((1, 1000), dtype=np.float32))
>>> bool(((scores == 2.0).sum() > 150) and ((scores == 0.0).sum() > 600))
True
"""

from wmark import stats
from wmark._processor import (
    GumbelLogitsProcessor,
    RequestLogitsProcessor,
    SynthIdLogitsProcessor,
    WatermarkLogitsProcessor,
)
from wmark._wmark import (
    DEFAULT_ALPHA,
    DEFAULT_TOP_K,
    RADIOACTIVITY_SCHEMA_VERSION,
    SCHEMA_VERSION,
    BatchShapeError,
    CandidateOutOfRangeError,
    Config,
    ConfigError,
    ContextTooShortError,
    Detector,
    GumbelSampler,
    GumbelState,
    InputError,
    InsecureKeyFileError,
    Key,
    KeyFileError,
    LogitsLengthError,
    NoKeysError,
    Processor,
    Radioactivity,
    RadioactivityReport,
    RandomSourceError,
    Report,
    SynthIdProcessor,
    SynthIdState,
    TokenizerError,
    VocabMismatchError,
    Watermark,
    WmarkError,
    WmarkIOError,
    __version__,
    inspect,
    stream_bytes,
)

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_TOP_K",
    "RADIOACTIVITY_SCHEMA_VERSION",
    "SCHEMA_VERSION",
    "BatchShapeError",
    "CandidateOutOfRangeError",
    "Config",
    "ConfigError",
    "ContextTooShortError",
    "Detector",
    "GumbelLogitsProcessor",
    "GumbelSampler",
    "GumbelState",
    "InputError",
    "InsecureKeyFileError",
    "Key",
    "KeyFileError",
    "LogitsLengthError",
    "NoKeysError",
    "Processor",
    "Radioactivity",
    "RadioactivityReport",
    "RandomSourceError",
    "Report",
    "RequestLogitsProcessor",
    "SynthIdLogitsProcessor",
    "SynthIdProcessor",
    "SynthIdState",
    "TokenizerError",
    "VocabMismatchError",
    "Watermark",
    "WatermarkLogitsProcessor",
    "WmarkError",
    "WmarkIOError",
    "__version__",
    "inspect",
    "stats",
    "stream_bytes",
]
