#!/usr/bin/env python3
"""Compute the worked numbers quoted in docs/statistics.md, exactly, and check the page.

    python3 scripts/statistics-examples.py           # print each example and its value
    python3 scripts/statistics-examples.py --check   # exit 1 if the page quotes another value

Exact binomial tails with Python integers (no floating point until the final ratio).
"""
import math
import pathlib
import sys
from fractions import Fraction

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "statistics.md"


def tail(n, k, p):
    """P(Bin(n, p) >= k) for a rational p, exactly."""
    p = Fraction(p)
    num, den = p.numerator, p.denominator
    q = den - num
    total = 0
    c = math.comb(n, k)
    for j in range(k, n + 1):
        total += c * num**j * q ** (n - j)
        c = c * (n - j) // (j + 1)
    return Fraction(total, den**n)


def smallest_significant(n, p, alpha):
    """The smallest k with P(Bin(n, p) >= k) <= alpha: one pass from k = n downwards, adding
    exact integer terms (term(j-1) = term(j) * j * q / ((n - j + 1) * num) divides exactly)."""
    p = Fraction(p)
    num, den = p.numerator, p.denominator
    q = den - num
    limit = alpha * den**n
    term = num**n  # j = n
    total = 0
    for j in range(n, 0, -1):
        if total + term > limit:
            return j + 1
        total += term
        term = term * j * q // ((n - j + 1) * num)
    return 1


def sci(x, digits=1):
    """1.2·10⁻⁵ style, as the page writes it."""
    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    e = math.floor(math.log10(x))
    m = x / 10**e
    if round(m, digits) >= 10:
        m, e = m / 10, e + 1
    mant = ("%.*f" % (digits, m)) if digits else "%d" % round(m)
    return "%s·10%s" % (mant, str(e).translate(sup))


def examples():
    out = []
    # Section 3: testing with the nominal γ = 0.1 when the true rate is 26/256.
    n, alpha = 10_000, Fraction(1, 10**6)
    s = smallest_significant(n, Fraction(1, 10), alpha)
    p_true = tail(n, s, Fraction(26, 256))
    out.append(("γ = 0.1, T = 10,000: smallest significant s", "`s = %s`" % format(s, ","), s))
    out.append(("its probability under γ_eff", "about %s" % sci(float(p_true)), float(p_true)))
    out.append(("ratio to α", "twelve times α" if round(float(p_true / alpha)) == 12 else "%d times α" % round(float(p_true / alpha)), float(p_true / alpha)))
    # Section 5: a 20-tuple phrase with 10 greens, repeated 10 times.
    p20 = tail(20, 10, Fraction(1, 4))
    p200 = tail(200, 100, Fraction(1, 4))
    out.append(("P(Bin(20, .25) >= 10)", "probability %.3f" % float(p20), float(p20)))
    out.append(("P(Bin(200, .25) >= 100)", "about %s" % sci(float(p200), 0), float(p200)))
    # Section 5: fingerprint collisions among a million tuples.
    out.append(("n^2 / 2^97 at n = 10^6", "about %s" % sci(1e12 / 2**97, 0), 1e12 / 2**97))
    # Section 6: the all-green text of 1,000 tuples, and where a double underflows.
    out.append(("log10 4^-1000", "`log10 p = −%.2f`" % (1000 * math.log10(4)), 0))
    out.append(("log10 of the smallest subnormal double", "below about −%.1f" % -math.log10(5e-324), 0))
    # Section 7: the exact tail against the normal approximation at T = 25, s = 15.
    p_exact = float(tail(25, 15, Fraction(1, 4)))
    z = (15 - 25 * 0.25) / math.sqrt(25 * 0.25 * 0.75)
    p_norm = 0.5 * math.erfc(z / math.sqrt(2))
    out.append(("exact P(Bin(25, .25) >= 15)", "| %s |" % sci(p_exact, 3), p_exact))
    out.append(("z at T = 25, s = 15", "`z = %.2f`" % z, z))
    out.append(("normal approximation", "| %s |" % sci(p_norm, 2), p_norm))
    out.append(("exact / normal", "about %s times" % {8: "eight"}.get(round(p_exact / p_norm), str(round(p_exact / p_norm))), p_exact / p_norm))
    # Section 9: the Bonferroni cost of every span of up to 2,048 scored tuples.
    out.append(("log10(2048*2049/2)", "about %.1f in `log10`" % math.log10(2048 * 2049 / 2), 0))
    # Section 8: the smallest T that can reach α = 1e-6, one and two keys.
    for g, label in [(Fraction(26, 256), "0.1015625 (γ = 0.1)"), (Fraction(1, 4), "0.25"), (Fraction(1, 2), "0.5")]:
        ts = [next(t for t in range(1, 200) if g**t * keys <= alpha) for keys in (1, 2)]
        out.append(("min T, γ_eff = %s" % g, "| %s | %d | %d |" % (label, ts[0], ts[1]), ts))
    return out


def main(argv):
    page = DOC.read_text(encoding="utf-8")
    bad = 0
    for what, text, _value in examples():
        found = text in page
        bad += not found
        print("%-45s %-32s %s" % (what, text, "ok" if found else "NOT ON THE PAGE"))
    if "--check" in argv and bad:
        print("docs/statistics.md quotes %d value(s) that differ from the computation" % bad, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
