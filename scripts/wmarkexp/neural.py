"""A small neural student for scripts/distill-demo (`--neural`): a feed-forward language model in the style
of Bengio et al. (2003), in numpy. The two previous tokens are embedded, concatenated, passed
through one tanh layer, and a softmax over the tokens seen in training predicts the next one.
Trained with Adam on minibatches; answers are sampled at temperature 1, all prompts at once.

It answers the question an n-gram student cannot: does a model that learns a smooth,
low-rank approximation of its training text (rather than copying its counts) still carry
the watermark of the text it was trained on?

Needs numpy (pinned in scripts/requirements.txt; scripts/pyenv installs it)."""
import time

import numpy as np

PAD = 0  # index of "no token" (before the start of a document)


class NeuralStudent:
    def __init__(self, docs, dim=48, hidden=128, epochs=2, batch=512, lr=3e-3, seed=0, log=None):
        rng = np.random.default_rng(seed)
        vocab = sorted({t for d in docs for t in d})
        self.ids = np.array(vocab, dtype=np.int64)
        self.index = {t: i + 1 for i, t in enumerate(vocab)}  # 0 is PAD
        v = len(vocab)
        ctx, tgt = [], []
        for d in docs:
            m = [self.index[t] for t in d]
            prev = [PAD, PAD] + m
            for i, t in enumerate(m):
                ctx.append((prev[i], prev[i + 1]))
                tgt.append(t - 1)
        ctx = np.array(ctx, dtype=np.int64)
        tgt = np.array(tgt, dtype=np.int64)
        s = 0.1
        self.E = (rng.standard_normal((v + 1, dim)) * s).astype(np.float32)
        self.W1 = (rng.standard_normal((2 * dim, hidden)) / np.sqrt(2 * dim)).astype(np.float32)
        self.b1 = np.zeros(hidden, np.float32)
        self.W2 = (rng.standard_normal((hidden, v)) / np.sqrt(hidden)).astype(np.float32)
        self.b2 = np.zeros(v, np.float32)
        params = [self.E, self.W1, self.b1, self.W2, self.b2]
        m1 = [np.zeros_like(p) for p in params]
        m2 = [np.zeros_like(p) for p in params]
        b1, b2, eps, step = 0.9, 0.999, 1e-8, 0
        n = len(tgt)
        started = time.time()
        self.loss = []
        for epoch in range(epochs):
            order = rng.permutation(n)
            total, count = 0.0, 0
            for at in range(0, n, batch):
                idx = order[at:at + batch]
                c, y = ctx[idx], tgt[idx]
                x = self.E[c].reshape(len(idx), -1)
                h = np.tanh(x @ self.W1 + self.b1)
                z = h @ self.W2 + self.b2
                z -= z.max(axis=1, keepdims=True)
                p = np.exp(z)
                p /= p.sum(axis=1, keepdims=True)
                total += float(-np.log(p[np.arange(len(idx)), y] + 1e-12).sum())
                count += len(idx)
                # Backward pass of the mean cross-entropy.
                dz = p
                dz[np.arange(len(idx)), y] -= 1.0
                dz /= len(idx)
                gW2 = h.T @ dz
                gb2 = dz.sum(axis=0)
                dh = (dz @ self.W2.T) * (1.0 - h * h)
                gW1 = x.T @ dh
                gb1 = dh.sum(axis=0)
                dx = (dh @ self.W1.T).reshape(len(idx), 2, -1)
                gE = np.zeros_like(self.E)
                np.add.at(gE, c[:, 0], dx[:, 0])
                np.add.at(gE, c[:, 1], dx[:, 1])
                step += 1
                for i, (prm, g) in enumerate(zip(params, [gE, gW1, gb1, gW2, gb2])):
                    m1[i] = b1 * m1[i] + (1 - b1) * g
                    m2[i] = b2 * m2[i] + (1 - b2) * g * g
                    prm -= lr * (m1[i] / (1 - b1 ** step)) / (np.sqrt(m2[i] / (1 - b2 ** step)) + eps)
            self.loss.append(total / count)
            if log:
                log(f"  neural student: epoch {epoch + 1}/{epochs}, training loss {total / count:.3f} nats/token "
                    f"({time.time() - started:.0f} s)")

    def answers(self, prompts, length, seed):
        """One answer of `length` tokens per prompt (token ids), sampled at temperature 1."""
        rng = np.random.default_rng(seed)
        k = len(prompts)
        state = np.array([[self.index.get(t, PAD) for t in ([None, None] + list(p))[-2:]] for p in prompts], dtype=np.int64)
        out = np.zeros((k, length), dtype=np.int64)
        for step in range(length):
            x = self.E[state].reshape(k, -1)
            z = np.tanh(x @ self.W1 + self.b1) @ self.W2 + self.b2
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            cum = np.cumsum(p, axis=1)
            u = rng.random(k) * cum[:, -1]
            choice = np.minimum((cum < u[:, None]).sum(axis=1), cum.shape[1] - 1)
            out[:, step] = choice
            state = np.stack([state[:, 1], choice + 1], axis=1)
        return [[int(self.ids[i]) for i in row] for row in out]
