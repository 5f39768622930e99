"""Starting `wmark serve` for the server's tests (scripts/serve_tests) and its benchmark
(scripts/serve-bench): a master key, an accounts file with fresh bearer tokens, the server
on a free loopback port, and a clean stop (SIGTERM, which lets requests in flight finish).

Uses only the standard library; the callers talk to the server with the `openai` client.
"""
import hashlib
import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def binary(name, env_var):
    """A binary from `env_var`, else target/debug/<name>."""
    path = Path(os.environ.get(env_var) or ROOT / "target" / "debug" / name)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build it (cargo build -p wmark-mistralrs) or set {env_var}")
    return path


def wmark_bin():
    return binary("wmark", "WMARK_BIN")


def serve_bin():
    """`wmark-serve`, which `wmark serve` runs: it must be beside the `wmark` binary."""
    path = wmark_bin().parent / "wmark-serve"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build it (cargo build -p wmark-mistralrs)")
    return path


def run_wmark(*args, input_text=None, check=True):
    """Runs the `wmark` command line; returns the completed process (text mode)."""
    return subprocess.run([str(wmark_bin()), *map(str, args)], input=input_text, capture_output=True, text=True,
                          check=check)


class Deployment:
    """A master key and an accounts file in `workdir`: `accounts` maps name -> bearer token,
    `detector_token` may call the detection endpoint."""

    def __init__(self, workdir, accounts, scheme_args=()):
        self.dir = Path(workdir)
        self.master = self.dir / "master.key"
        self.scheme_args = list(scheme_args)
        if not self.master.exists():
            run_wmark("keygen", "--out", self.master, *self.scheme_args)
        self.tokens = {name: "sk-" + secrets.token_hex(16) for name in accounts}
        self.detector_token = "sk-detect-" + secrets.token_hex(16)
        lines = []
        for name, token in self.tokens.items():
            lines += ["[[account]]", f'name = "{name}"', f'api_key_sha256 = "{sha256_hex(token)}"', ""]
        lines += ["[[detector]]", 'name = "detection-service"',
                  f'api_key_sha256 = "{sha256_hex(self.detector_token)}"', ""]
        self.accounts_file = self.dir / "accounts.toml"
        self.accounts_file.write_text("\n".join(lines))

    def account_key(self, name):
        """The account's key file, derived from the master key by `wmark keygen --account`."""
        path = self.dir / f"{name}.key"
        if not path.exists():
            run_wmark("keygen", "--out", path, "--account", name, "--master", self.master)
        return path


def sha256_hex(token):
    return hashlib.sha256(token.encode()).hexdigest()


class Server:
    """`wmark serve` (which runs `wmark-serve`) in the background; use as a context manager."""

    def __init__(self, deployment, extra_args=(), env=None):
        self.deployment = deployment
        serve_bin()  # a clear error if it is missing
        args = [str(wmark_bin()), "serve", "--accounts", str(deployment.accounts_file), "--master-key",
                str(deployment.master), "--listen", "127.0.0.1:0", *deployment.scheme_args, *map(str, extra_args)]
        full_env = dict(os.environ)
        full_env.setdefault("RAYON_NUM_THREADS", "1")
        full_env.update(env or {})
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     env=full_env)
        self.log = []
        self.url = None
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.log.append(line.rstrip("\n"))
                m = re.search(r"listening on (http://\S+)", line)
                if m:
                    self.url = m.group(1)
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not ready.wait(timeout=600) or self.url is None:
            self.stop()
            raise RuntimeError("wmark serve did not start:\n" + "\n".join(self.log[-20:]))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self, timeout=120):
        """SIGTERM, then wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)
        return self.proc.returncode

    def request(self, method, path, body=None, token=None, headers=None):
        """(status, parsed JSON or text) of one raw HTTP request."""
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def metrics(self):
        """The /metrics counters as {series (with labels): value}."""
        _, text = self.request("GET", "/metrics")
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def detect(self, text):
        return self.request("POST", "/v1/watermark/detect", {"text": text}, token=self.deployment.detector_token)


def wait_until(predicate, timeout=30.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return False
