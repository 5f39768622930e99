"""Diversity of several answers to the same prompt, over token ids: distinct n-grams of the
answers pooled, and how much two answers share (identical answers, common prefix, Jaccard
similarity of their n-gram sets), averaged over every pair."""
from itertools import combinations


def ngrams(ids, n):
    """The n-grams of one answer, in order, as tuples (none when it is shorter than n)."""
    return [tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)]


def distinct_n(answers, n):
    """Distinct n-grams over total n-grams, the answers pooled (an n-gram never spans two
    answers): 1 when no n-gram repeats, 1/k when k identical answers repeat nothing else.
    0 when there is no n-gram at all."""
    grams = [g for a in answers for g in ngrams(a, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def jaccard(a, b):
    """|a ∩ b| / |a ∪ b| of two sets; 1 for two empty sets."""
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def ngram_jaccard(x, y, n):
    """The Jaccard similarity of the n-gram sets of two answers."""
    return jaccard(set(ngrams(x, n)), set(ngrams(y, n)))


def common_prefix(x, y):
    """How many leading tokens two answers share."""
    k = 0
    for a, b in zip(x, y):
        if a != b:
            break
        k += 1
    return k


def diverges_after_repeat(x, y, h):
    """True when answers x and y differ and the h tokens before their first difference (the
    context of that position) are the context of an earlier position of x, both within the
    answer: the position a Gumbel-max generator samples without the watermark."""
    k = common_prefix(x, y)
    if k == min(len(x), len(y)) and len(x) == len(y) or k < h:
        return False
    ctx = x[k - h:k]
    return any(x[i - h:i] == ctx for i in range(h, k))


def pairwise_mean(answers, f):
    """The mean of f(x, y) over the unordered pairs of answers (at least two)."""
    pairs = list(combinations(answers, 2))
    if not pairs:
        raise ValueError("pairwise_mean needs at least two answers")
    return sum(f(x, y) for x, y in pairs) / len(pairs)


def summary(answers, ns=(1, 2, 3), jaccard_n=3, h=4):
    """One prompt's answers (id lists): distinct-n for each n, the number of distinct answers,
    the pairs of identical answers (out of all pairs), the mean common prefix, the mean
    Jaccard similarity of the answers' n-gram sets over the pairs, and how many pairs first
    differ right after a repeated context of h tokens (see `diverges_after_repeat`)."""
    pairs = len(answers) * (len(answers) - 1) // 2
    out = dict(answers=len(answers), tokens=sum(map(len, answers)))
    for n in ns:
        out[f"distinct_{n}"] = distinct_n(answers, n)
    out.update(distinct_answers=len({tuple(a) for a in answers}), pairs=pairs,
               identical_pairs=sum(tuple(x) == tuple(y) for x, y in combinations(answers, 2)),
               mean_common_prefix=pairwise_mean(answers, common_prefix),
               mean_jaccard=pairwise_mean(answers, lambda x, y: ngram_jaccard(x, y, jaccard_n)),
               diverge_after_repeat=sum(diverges_after_repeat(x, y, h) for x, y in combinations(answers, 2)))
    return out


def by_prompt(generations):
    """Answers grouped by prompt, from generation records whose ids are `<prompt id>#<r>`:
    {prompt id: [ids of answer 0, 1, ...]}, prompts in first-seen order, answers by r."""
    groups = {}
    for g in generations:
        prompt, sep, r = g["id"].rpartition("#")
        if not sep:
            raise ValueError(f"answer id {g['id']!r} is not <prompt id>#<r>")
        groups.setdefault(prompt, []).append((int(r), g["ids"]))
    return {p: [ids for _, ids in sorted(answers)] for p, answers in groups.items()}
