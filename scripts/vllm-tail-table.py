#!/usr/bin/env python3
"""The table of docs/statistics.md that sets the exact dual-key Gumbel tail against vLLM's.

    python3 scripts/vllm-tail-table.py           # print the table
    python3 scripts/vllm-tail-table.py --write   # put it into docs/statistics.md
    python3 scripts/vllm-tail-table.py --check   # exit 1 if the page shows another table

The dual-key score of n tokens is S = (1 - alpha) X + alpha Y with X, Y independent Gamma(n, 1)
under the null. For each n and each target p, the table gives the score s at which the exact
tail P(S >= s) equals p, the p-value that vLLM reports at that s, and their ratio.

The exact tail (integer n, 0 < alpha < 1, alpha != 1/2) is the closed form from the partial
fractions of the Laplace transform of S (as the `partial-fractions` method of
scripts/gen-tail-vectors.py): with rates l1 = 1/(1 - alpha) and l2 = 1/alpha,

    P(S >= s) = e^(-l1 s) sum_(j<n) c_j s^j + e^(-l2 s) sum_(j<n) d_j s^j,

whose coefficients depend only on n and alpha. The two sums cancel by well over a hundred
digits at n = 1000, so they are evaluated in mpmath at WORK_DPS(n) digits, and every value in
the table is recomputed at 40 more digits and must agree.

vLLM's value is the formula of vllm 0.33.0, vllm/v1/watermarking/gumbel.py,
DualKeyGumbelWatermarkDetector._get_p_value, for alpha not in {0, 1/2, 1}: a Gamma law
matched to the mean and variance of S, v = (1 - alpha)^2 + alpha^2, p = Q(n/v, s/v) (the
regularised upper incomplete gamma function, torch.special.gammaincc there), evaluated here
with mpmath.gammainc(..., regularized=True) at the exact s and v.

Needs mpmath (generated with mpmath 1.3.0).
"""

import math
import pathlib
import sys

try:
    import mpmath
    from mpmath import mpf
except ImportError:  # pragma: no cover
    sys.exit("vllm-tail-table.py needs mpmath: pip install mpmath")

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "statistics.md"
BEGIN = "<!-- vllm-tail-table:begin -->"
END = "<!-- vllm-tail-table:end -->"

ALPHA = 0.1
NS = (50, 200, 1000)
TARGETS = (3, 4, 6, 8, 10, 12)  # exact p = 10^-t

ROOT_DPS = 30  # precision of the root finding and of the table's inputs


def work_dps(n):
    """Digits for the cancelling partial-fraction sums (checked at 40 more for every value)."""
    return 80 + n // 4


class ExactTail:
    """P((1 - alpha) X + alpha Y >= s), X, Y independent Gamma(n, 1), integer n."""

    def __init__(self, n, alpha, dps):
        self.n, self.dps = n, dps
        with mpmath.workdps(dps):
            b = mpf(alpha)
            a = 1 - b
            self.rates = (1 / a, 1 / b)
            pre = (self.rates[0] * self.rates[1]) ** n
            self.polys = []
            for lam, other in (self.rates, self.rates[::-1]):
                # 1/((lam+t)^n (other+t)^n) has the term c_k/(lam+t)^k, c_k = C(2n-k-1, n-k)
                # (-1)^(n-k)/(other-lam)^(2n-k): P gets A_k Q(k, lam s), A_k = pre c_k / lam^k,
                # and sum_k A_k Q(k, lam s) = e^(-lam s) sum_(j<n) (lam s)^j/j! (A_(j+1) + ... + A_n).
                dd = other - lam
                coef = [mpf(0)] * (n + 1)
                coef[n] = pre / dd**n / lam**n
                for k in range(n, 1, -1):
                    coef[k - 1] = -coef[k] * (2 * n - k) * lam / ((n - k + 1) * dd)
                suffix = mpf(0)
                poly = [mpf(0)] * n  # poly[j] = lam^j / j! * (A_(j+1) + ... + A_n)
                for j in range(n - 1, -1, -1):
                    suffix += coef[j + 1]
                    poly[j] = suffix * lam**j / math.factorial(j)
                self.polys.append((lam, poly))

    def __call__(self, s):
        with mpmath.workdps(self.dps):
            s = mpf(s)
            total = mpf(0)
            for lam, poly in self.polys:
                h = mpf(0)
                for c in reversed(poly):
                    h = h * s + c
                total += mpmath.exp(-lam * s) * h
        return total


def vllm_p(n, alpha, s):
    """vLLM 0.33.0's moment-matched value Q(n/v, s/v), v = (1 - alpha)^2 + alpha^2."""
    b = mpf(alpha)
    v = (1 - b) ** 2 + b**2
    return mpmath.gammainc(n / v, s / v, mpmath.inf, regularized=True)


def solve(tail, check, n, alpha, t):
    """The s with log P(S >= s) = -t ln 10, by mpmath.findroot from the normal approximation;
    check is the same tail at 40 more digits."""
    b = mpf(alpha)
    sd = mpmath.sqrt(n * ((1 - b) ** 2 + b**2))
    z = mpmath.sqrt(2 * t * mpmath.ln(10))  # about right for a normal tail of 10^-t
    target = -t * mpmath.ln(10)

    def f(s):
        return mpmath.ln(tail(s)) - target

    s = mpmath.findroot(f, (n + z * sd, n + (z + 1) * sd), tol=mpf(10) ** (-(ROOT_DPS - 5)))
    # recompute at 40 more digits: the cancelling sums must not have lost anything that shows
    if abs(check(s) / tail(s) - 1) > mpf(10) ** -25:
        raise SystemExit("vllm-tail-table.py: the exact tail at n = %d is not stable at %d digits" % (n, tail.dps))
    return s


def sci(x, digits):
    """1.23·10⁻⁵ style, as docs/statistics.md writes it."""
    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    e = int(mpmath.floor(mpmath.log10(x)))
    m = float(x / mpf(10) ** e)
    if round(m, digits) >= 10:
        m, e = m / 10, e + 1
    return "%.*f·10%s" % (digits, m, str(e).translate(sup))


def table():
    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    rows = [
        "| scored tokens `n` | exact `p` | score `s` | vLLM's `p` at `s` | vLLM / exact |",
        "|---:|---:|---:|---:|---:|",
    ]
    with mpmath.workdps(ROOT_DPS):
        for n in NS:
            tail = ExactTail(n, ALPHA, work_dps(n))
            check = ExactTail(n, ALPHA, work_dps(n) + 40)
            for t in TARGETS:
                s = solve(tail, check, n, ALPHA, t)
                exact = mpf(10) ** -t
                approx = vllm_p(n, ALPHA, s)
                rows.append(
                    "| %s | 10%s | %s | %s | %.3f |"
                    % (format(n, ","), str(-t).translate(sup), format(float(s), ",.3f"), sci(approx, 2), approx / exact)
                )
    return "\n".join(rows) + "\n"


def block(text):
    return "%s\n%s%s" % (BEGIN, text, END)


def page_block(page):
    i, j = page.find(BEGIN), page.find(END)
    if i < 0 or j < i:
        return None
    return page[i : j + len(END)]


def main(argv):
    text = table()
    if "--check" in argv or "--write" in argv:
        page = DOC.read_text(encoding="utf-8")
        old = page_block(page)
        if old is None:
            print("docs/statistics.md has no %s ... %s block" % (BEGIN, END), file=sys.stderr)
            return 1
        if "--write" in argv:
            DOC.write_text(page.replace(old, block(text)), encoding="utf-8")
            return 0
        if old != block(text):
            print("docs/statistics.md: the vLLM tail table differs from scripts/vllm-tail-table.py's", file=sys.stderr)
            return 1
        print("docs/statistics.md: vLLM tail table ok")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
