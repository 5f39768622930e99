"""The trigram students of the distillation scenario and their training mixtures."""
import bisect
from collections import Counter, defaultdict


def chunks(tokens, size):
    """The non-overlapping windows of exactly `size` tokens, from the start (a shorter tail is
    dropped)."""
    return [tokens[i:i + size] for i in range(0, len(tokens) - size + 1, size)]


class Trigram:
    """An interpolated Witten-Bell trigram model, sampled exactly by backing off: at a context
    seen c times with t distinct followers, draw from its followers with probability c/(c+t),
    else from the shorter context."""

    def __init__(self, docs):
        self.tables = [defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)]
        for d in docs:
            for i, w in enumerate(d):
                self.tables[0][()][w] += 1
                if i >= 1:
                    self.tables[1][(d[i - 1],)][w] += 1
                if i >= 2:
                    self.tables[2][(d[i - 2], d[i - 1])][w] += 1
        self.cache = {}

    def dist(self, order, ctx):
        """(followers in first-seen order, their cumulative counts, total, distinct) of a
        context of the given order, or None if it was never seen."""
        k = (order, ctx)
        hit = self.cache.get(k)
        if hit is None:
            c = self.tables[order].get(ctx)
            if not c:
                hit = None
            else:
                toks = list(c)
                cum, s = [], 0
                for t in toks:
                    s += c[t]
                    cum.append(s)
                hit = (toks, cum, s, len(toks))
            self.cache[k] = hit
        return hit

    def sample(self, history, rng):
        """The next token after `history` (a list), drawn with `rng` (random.Random)."""
        for order in (2, 1, 0):
            ctx = tuple(history[len(history) - order:]) if order else ()
            if order and len(history) < order:
                continue
            d = self.dist(order, ctx)
            if d is None:
                continue
            toks, cum, total, distinct = d
            if order == 0 or rng.random() < total / (total + distinct):
                return toks[bisect.bisect_right(cum, rng.random() * total)]
        raise ValueError("empty model")

    def answer(self, prompt_ids, length, rng):
        """`length` tokens continuing the last two tokens of the prompt."""
        history = list(prompt_ids[-2:])
        out = []
        for _ in range(length):
            w = self.sample(history, rng)
            out.append(w)
            history = (history + [w])[-2:]
        return out


def mix(rho, n_tokens, wm_docs, human_docs, rng, other_docs=None):
    """Training documents: ρ·N tokens of watermarked teacher text, the rest human (or
    `other_docs`) text, whole documents in a random order (the last one cut to fit).
    Returns (documents, watermarked tokens, all tokens)."""
    def take(pool, budget):
        picked, have = [], 0
        for d in rng.sample(pool, len(pool)):
            if have >= budget:
                break
            d = d[: budget - have]
            picked.append(d)
            have += len(d)
        return picked, have

    wm, got_wm = take(wm_docs, round(rho * n_tokens))
    rest, got_rest = take(other_docs or human_docs, n_tokens - got_wm)
    return wm + rest, got_wm, got_wm + got_rest
