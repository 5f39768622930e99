"""Keys (files, permissions, accounts, equal to `wmark keygen`), configuration validation as
the command line's, and every exception class of the hierarchy raised for real."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import numpy as np
import pytest

import wmark
from conftest import Cli, fixed_key


def test_save_and_load(tmp_path: Path) -> None:
    key = wmark.Key.generate()
    assert key != wmark.Key.generate()
    p = tmp_path / "a.key"
    key.save(p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert wmark.Key.load(p) == key and wmark.Key.load(str(p)).id == key.id
    assert p.read_text().startswith("wmark-key-v1:") and len(p.read_text()) == 13 + 64 + 1
    assert key.id not in p.read_text() and repr(key) == f"Key(id='{key.id}')"
    with pytest.raises(wmark.WmarkIOError):
        key.save(p)  # never overwrites
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert len({key, wmark.Key.load(p)}) == 1


def test_keys_interoperate_with_the_cli(cli: Cli) -> None:
    out = cli.run(["keygen", "--out", "m.key"])
    master = wmark.Key.load(cli.workdir / "m.key")
    assert out.strip() == master.id
    out = cli.run(["keygen", "--out", "acme.key", "--account", "acme", "--master", "m.key"])
    assert master.derive_account("acme").id == out.strip()
    assert master.derive_account("acme") == wmark.Key.load(cli.workdir / "acme.key")
    assert master.derive_account("acme") != master.derive_account("acme2")


def test_config_validation_matches_the_cli(cli: Cli) -> None:
    k = cli.key_file(fixed_key(1))
    bad = [
        dict(scheme="lefthash", gamma=0.0),
        dict(scheme="lefthash", gamma=1.0),
        dict(scheme="lefthash", gamma=0.001),  # rounds to 0/256
        dict(scheme="lefthash", delta=-1.0),
        dict(scheme="lefthash", delta=float("inf")),
        dict(scheme="window:0"),
        dict(scheme="window:33"),
        dict(scheme="minhash:04"),
        dict(scheme="lefthash:2"),
        dict(scheme="bogus"),
        dict(scheme="lefthash", vocab_size=0),
    ]
    for b in bad:
        args = dict(scheme="lefthash", gamma=0.25, delta=2.0, vocab_size=100)
        args.update(b)
        with pytest.raises(wmark.ConfigError) as e:
            wmark.Config(args["scheme"], gamma=args["gamma"], delta=args["delta"], vocab_size=args["vocab_size"])
        assert isinstance(e.value, ValueError) and isinstance(e.value, wmark.WmarkError)
        cli_args = ["inspect", "--key", str(k), "--scheme", args["scheme"], "--gamma", repr(args["gamma"]),
                    "--delta", repr(args["delta"]), "--vocab-size", str(args["vocab_size"]), "--context", "1", "--count"]
        cli.run(cli_args, ok_codes=(2,))  # the command line refuses the same
    c = wmark.Config("window:3", gamma=0.3, delta=1.0, vocab_size=100)
    assert (c.scheme, c.gamma, c.green_threshold, c.delta, c.vocab_size, c.context_len) == ("window:3", 77 / 256, 77, 1.0, 100, 3)
    assert c == wmark.Config("window:3", gamma=0.3, delta=1.0, vocab_size=100)
    with pytest.raises(wmark.ConfigError):
        wmark.Config(vocab_size=2**32)
    with pytest.raises(wmark.ConfigError):
        wmark.Config(vocab_size=-1)


def test_every_exception_class(tmp_path: Path, llama3_tokenizer: Path) -> None:
    config = wmark.Config("lefthash", vocab_size=100)
    key = fixed_key(2)
    raised = {}

    def expect(cls: type, fn) -> None:
        with pytest.raises(cls) as e:
            fn()
        assert type(e.value) is cls, (cls, type(e.value))
        assert isinstance(e.value, wmark.WmarkError)
        raised[cls.__name__] = e.value

    expect(wmark.ConfigError, lambda: wmark.Config("nope", vocab_size=1))
    (tmp_path / "bad.key").write_text("wmark-key-v1:zz\n")
    os.chmod(tmp_path / "bad.key", 0o600)
    expect(wmark.KeyFileError, lambda: wmark.Key.load(tmp_path / "bad.key"))
    key.save(tmp_path / "open.key")
    os.chmod(tmp_path / "open.key", 0o644)
    expect(wmark.InsecureKeyFileError, lambda: wmark.Key.load(tmp_path / "open.key"))
    expect(wmark.WmarkIOError, lambda: wmark.Key.load(tmp_path / "missing.key"))
    expect(wmark.ContextTooShortError, lambda: wmark.inspect(wmark.Config("window:3", vocab_size=100), key, [1, 2]))
    proc = wmark.Processor(config, key)
    expect(wmark.LogitsLengthError, lambda: proc.apply_row([1], np.zeros(99, dtype=np.float32)))
    expect(wmark.CandidateOutOfRangeError, lambda: proc.apply_row([1], np.zeros(100, dtype=np.float32), candidates=[100]))
    expect(wmark.BatchShapeError, lambda: proc.apply(np.zeros((3, 1), dtype=np.int64), np.zeros((2, 100), dtype=np.float32)))
    (tmp_path / "tok.json").write_text("{}")
    expect(wmark.TokenizerError, lambda: wmark.Detector(config, key, tokenizer=tmp_path / "tok.json"))
    expect(wmark.VocabMismatchError, lambda: wmark.Detector(config, key, tokenizer=llama3_tokenizer))
    expect(wmark.VocabMismatchError, lambda: wmark.Detector(config, key).detect(ids=[1, 2, 100]))
    expect(wmark.NoKeysError, lambda: wmark.Detector(config, []))
    expect(wmark.InputError, lambda: wmark.Detector(config, key).detect(text="needs a tokenizer"))
    expect(wmark.InputError, lambda: wmark.Detector(config, key).detect(ids=[1, -2]))
    expect(wmark.ConfigError, lambda: wmark.Detector(config, key, alpha=1.5))
    expect(wmark.ConfigError, lambda: wmark.Detector(config, key, dedup="sometimes"))

    # RandomSourceError cannot be provoked (the OS random source does not fail here); check
    # its place in the hierarchy instead.
    assert issubclass(wmark.RandomSourceError, wmark.WmarkError) and issubclass(wmark.RandomSourceError, OSError)

    # One class per kind, all under WmarkError; value errors are ValueError, OS errors OSError.
    names = [n for n in wmark.__all__ if n.endswith("Error") and n != "WmarkError"]
    assert set(names) == set(raised) | {"RandomSourceError"}
    for n in names:
        assert issubclass(getattr(wmark, n), wmark.WmarkError), n
    for n in ("ConfigError", "KeyFileError", "ContextTooShortError", "LogitsLengthError", "CandidateOutOfRangeError",
              "BatchShapeError", "VocabMismatchError", "NoKeysError", "InputError"):
        assert issubclass(getattr(wmark, n), ValueError), n
    assert issubclass(wmark.WmarkIOError, OSError) and issubclass(wmark.InsecureKeyFileError, wmark.KeyFileError)
    assert wmark.ConfigError.__module__ == "wmark"
    assert "zz" not in str(raised["KeyFileError"])  # never echoes the key material
