"""`wmark serve` end to end: the server on 127.0.0.1, driven by the official `openai` client.

Two accounts ask for answers (plain and streamed); each answer must carry its own account's
watermark, found by the detection endpoint and by `wmark detect` with the account key that
`wmark keygen --account` derives, and must not test positive under the other account's key.
Every kind of bad request gets its status, and the server keeps answering afterwards.

Run by scripts/test-serve (inside scripts/test), which builds wmark-serve first:

    scripts/test-serve
"""
import json
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openai import OpenAI  # noqa: E402

from wmarkexp.serving import Deployment, Server, run_wmark  # noqa: E402

MODEL = "smollm2-135m-instruct"
PROMPTS = {
    "alice": "Write a long story about a lighthouse keeper who finds a message in a bottle.",
    "bob": "Explain in detail how bread is made, from the wheat field to the bakery.",
}
MAX_TOKENS = 200


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    deployment = Deployment(tmp_path_factory.mktemp("serve"), ["alice", "bob"])
    with Server(deployment, ["--max-body-bytes", "65536", "--max-tokens", "512"]) as s:
        yield s


def client(server, account):
    return OpenAI(base_url=server.url + "/v1", api_key=server.deployment.tokens[account], max_retries=0)


def chat(server, account, prompt, stream=False):
    c = client(server, account)
    messages = [{"role": "user", "content": prompt}]
    if not stream:
        r = c.chat.completions.create(model=MODEL, messages=messages, max_tokens=MAX_TOKENS, temperature=1.0)
        return r.choices[0].message.content
    parts = []
    for chunk in c.chat.completions.create(model=MODEL, messages=messages, max_tokens=MAX_TOKENS, temperature=1.0,
                                           stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    return "".join(parts)


def cli_detect(server, account, text, tmp_path):
    """`wmark detect --json` of `text` with `account`'s derived key."""
    path = tmp_path / "answer.txt"
    path.write_text(text)
    r = run_wmark("detect", "--json", "--key", server.deployment.account_key(account), path, check=False)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout.splitlines()[0])


@pytest.fixture(scope="module")
def answers(server):
    out = {}
    for account, prompt in PROMPTS.items():
        out[(account, "plain")] = chat(server, account, prompt)
        out[(account, "stream")] = chat(server, account, prompt, stream=True)
    return out


def test_models_lists_the_served_model(server):
    models = client(server, "alice").models.list()
    assert [m.id for m in models.data] == [MODEL]


@pytest.mark.parametrize("mode", ["plain", "stream"])
@pytest.mark.parametrize("account", ["alice", "bob"])
def test_each_answer_carries_its_own_account_watermark(server, answers, account, mode, tmp_path):
    text = answers[(account, mode)]
    assert len(text) > 200, text
    report = server.detect(text)[1]
    assert report["account"] == account, report
    assert report["verdict"] == "watermarked", report
    assert report["accounts_tested"] == 2
    own = cli_detect(server, account, text, tmp_path)
    assert own["verdict"] == "watermarked", own
    # The endpoint tests both accounts: its p-value is the best key's, corrected for two.
    assert report["scored"] == own["scored"]
    other = "bob" if account == "alice" else "alice"
    theirs = cli_detect(server, other, text, tmp_path)
    assert theirs["verdict"] == "not_watermarked", theirs
    assert theirs["log10_p"] > -3, theirs


def test_metrics_count_tokens_per_account(server, answers):
    m = server.metrics()
    for account in ("alice", "bob"):
        assert m[f'wmark_generated_tokens_total{{account="{account}"}}'] >= 2 * 50
        assert m[f'wmark_watermark_seconds_total{{account="{account}"}}'] > 0
    assert m['wmark_http_requests_total{route="/v1/chat/completions",status="200"}'] >= 4


def still_serving(server):
    status, body = server.request("GET", "/health")
    assert status == 200 and body == {"status": "ok"}
    r = client(server, "bob").chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}],
                                                      max_tokens=4)
    assert r.choices[0].message.content is not None


def chat_body(**overrides):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 4}
    body.update(overrides)
    return body


BAD_REQUESTS = {
    "malformed_json": (b'{"model": "smollm2-135m-instruct", "messages": [', "alice", 400),
    "not_an_object": (b"[1, 2, 3]", "alice", 400),
    "wrong_field_type": (chat_body(messages="not a list of messages", max_tokens="many"), "alice", 400),
    "unknown_model": (chat_body(model="gpt-17"), "alice", 404),
    "missing_token": (chat_body(), None, 401),
    "wrong_token": (chat_body(), "sk-not-a-token", 401),
    "body_over_limit": (chat_body(messages=[{"role": "user", "content": "x" * 100_000}]), "alice", 413),
    "absurd_max_tokens": (chat_body(max_tokens=10**12), "alice", 400),
    "zero_max_tokens": (chat_body(max_tokens=0), "alice", 400),
    "negative_temperature": (chat_body(temperature=-1), "alice", 400),
    "several_choices": (chat_body(n=3), "alice", 400),
    "detector_token_cannot_chat": (chat_body(), "detector", 403),
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_bad_requests_get_their_status_and_the_server_keeps_serving(server, name):
    body, who, want = BAD_REQUESTS[name]
    token = {"alice": server.deployment.tokens["alice"], "detector": server.deployment.detector_token}.get(who, who)
    status, reply = server.request("POST", "/v1/chat/completions", body, token=token)
    assert status == want, (status, reply)
    assert isinstance(reply, dict) and reply["error"]["message"], reply
    still_serving(server)


def test_detection_endpoint_refuses_account_tokens_and_bad_bodies(server):
    status, _ = server.request("POST", "/v1/watermark/detect", {"text": "hello"}, token=server.deployment.tokens["bob"])
    assert status == 403
    status, _ = server.request("POST", "/v1/watermark/detect", {"text": "hello"})
    assert status == 401
    status, _ = server.request("POST", "/v1/watermark/detect", b"{", token=server.deployment.detector_token)
    assert status == 400
    status, report = server.detect("A sentence nobody generated, typed by hand for this test.")
    assert status == 200 and report["verdict"] == "not_watermarked", report
    still_serving(server)


def test_logs_never_contain_tokens_or_keys(server, answers):
    log = "\n".join(server.log)
    assert "caller=alice" in log and "caller=bob" in log
    for token in [*server.deployment.tokens.values(), server.deployment.detector_token]:
        assert token not in log
    for name in ("master", "alice", "bob"):
        path = server.deployment.dir / f"{name}.key"
        if path.exists():
            secret = path.read_text().strip().split(":", 1)[1]
            assert secret not in log


def test_shutdown_finishes_the_requests_in_flight(tmp_path):
    deployment = Deployment(tmp_path, ["carol"])
    s = Server(deployment, [])
    try:
        c = OpenAI(base_url=s.url + "/v1", api_key=deployment.tokens["carol"], max_retries=0)
        stream = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": PROMPTS["alice"]}],
                                           max_tokens=80, temperature=1.0, stream=True)
        parts, finish = [], None
        for i, chunk in enumerate(stream):
            if i == 2:
                s.proc.send_signal(signal.SIGTERM)  # mid-stream
            if chunk.choices:
                parts.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
        assert finish in ("stop", "length"), finish
        assert len("".join(parts)) > 20
        assert s.proc.wait(timeout=120) == 0
        assert any("stopped" in line for line in s.log), s.log[-5:]
    finally:
        s.stop()
