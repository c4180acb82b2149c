"""The glossary: every term the pages use, one short definition each, and links to it.

``link("certified radius")`` gives markdown ``[certified radius](glossary#certified-radius "…")``: the
hover text is the one-line definition and a click opens the entry (in a new tab, so the page the reader
came from keeps its state). ``TERMS`` is data; the Glossary page renders it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ui import navigation
from ui.navigation import Page


@dataclass(frozen=True)
class Term:
    name: str                       # as it appears in the pages
    short: str                      # one line: hover text of every link
    body: str                       # a few sentences of markdown
    latex: str = ""                 # an optional formula
    pages: tuple[Page, ...] = ()    # pages where the term is used (ui/navigation.py)
    see: tuple[str, ...] = ()       # names of related terms
    source: str = ""                # the paper that defines it

    @property
    def slug(self) -> str:
        return slug(self.name)

    @property
    def title(self) -> str:
        """The name as markdown for headings, the index and links (``typeset``)."""
        return typeset(self.name)


SYMBOLS = (("p̲_A", r"$\underline{p_A}$"), ("p_A", "$p_A$"), ("n_A", "$n_A$"))   # plain text -> typeset


def typeset(text: str) -> str:
    """Markdown that typesets the symbols the glossary writes in plain text (p_A as $p_A$, p̲_A as its underlined
    form, n_A), so neither a name nor a definition shows a literal underscore."""
    for plain, tex in SYMBOLS:
        text = re.sub(rf"(?<![\w$]){re.escape(plain)}(?![\w}}])", lambda _: tex, text)
    return text


def slug(name: str) -> str:
    """'Certified radius R' -> 'certified-radius-r' (also the heading anchor of the entry)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


B, D, M, R, BE = (navigation.BOUNDARIES, navigation.DDRS, navigation.MARGIN, navigation.RUNS,
                  navigation.BERNSTEIN)
COHEN = "Cohen, Rosenfeld & Kolter (2019); the lecture 'Certifiable Robustness'"
TERMS: tuple[Term, ...] = (
    Term("Certificate", "A proof that the prediction cannot change within a radius of the input.",
         "An attack can only show that a nearby input with another label *exists*; a certificate proves that "
         "*none* exists inside a ball. For randomized smoothing the proof is probabilistic: it holds with "
         "probability at least 1 − α over the sampling noise.", r"\forall \|\delta\|_2\le R:\; g(x+\delta)=g(x)",
         (B, R), ("Certified radius", "α (failure probability)", "Soundness"), COHEN),
    Term("Certified radius", "The radius R of the ℓ2 ball on which the certificate holds.",
         "For Gaussian smoothing R = σ Φ⁻¹(p̲_A): it grows with the noise level σ and with the confidence of the "
         "vote. In the 2D explorer it is drawn as a circle around the clicked point.",
         r"R = \sigma\,\Phi^{-1}(\underline{p_A})", (B, D, R), ("p_A and its lower bound", "Noise level σ"), COHEN),
    Term("Base classifier f", "The network itself, evaluated on a single input.",
         "Any classifier: randomized smoothing treats it as a black box and only counts its answers on noisy "
         "copies of the input. Training it with Gaussian noise augmentation makes the smoothed classifier better.",
         "", (B,), ("Smoothed classifier g",), COHEN),
    Term("Smoothed classifier g", "The class f returns most often when the input is blurred by Gaussian noise.",
         "g is the classifier that gets certified. In 2D it is exactly the base classifier's regions blurred by "
         "a Gaussian (a convolution), which is why this app can draw it without sampling.",
         r"g(x)=\arg\max_c \Pr_{\varepsilon\sim\mathcal N(0,\sigma^2 I)}\big[f(x+\varepsilon)=c\big]",
         (B, D), ("Base classifier f", "Exact smoothing"), COHEN),
    Term("Noise level σ", "Standard deviation of the Gaussian noise: the robustness/accuracy knob.",
         "Large σ gives large radii far from the boundary but blurs away thin regions and makes g abstain more; "
         "small σ keeps detail but certifies only small radii. The sidebar slider sets it for every page.",
         "", (B, D, M, R), ("Certified radius", "Per-input σ (DDRS)"), COHEN),
    Term("p_A and its lower bound", "p_A: probability of the top class under noise; p̲_A: its confidence bound.",
         "CERTIFY estimates p_A by counting votes over n noisy samples and replaces it by a one-sided "
         "Clopper–Pearson lower bound p̲_A, so the radius is too small rather than too large.",
         r"\underline{p_A} = \mathrm{Beta}^{-1}(\alpha;\, n_A,\, n-n_A+1)", (B, R),
         ("Clopper–Pearson bound", "CERTIFY"), COHEN),
    Term("Clopper–Pearson bound", "An exact binomial confidence bound on a probability from counts.",
         "With n_A successes in n trials, the bound is a Beta quantile. Even n_A = n gives only α^(1/n), "
         "so a finite sample caps the radius at σ Φ⁻¹(α^(1/n)).", "", (B,), ("p_A and its lower bound",), COHEN),
    Term("α (failure probability)", "The probability that a certificate is wrong because the sample was unlucky.",
         "Each certificate holds with probability at least 1 − α (0.001 by default). Over a test set, expect up "
         "to α of the certificates to be wrong.", "", (B, R), ("Certificate",), COHEN),
    Term("CERTIFY", "Cohen et al.'s algorithm: pick the class with n0 samples, bound it with n fresh ones.",
         "Selection and estimation must use *separate* samples: reusing the selection samples biases p̲_A upward "
         "and breaks the guarantee. If p̲_A < ½ it abstains.", "", (B, R),
         ("Abstain", "p_A and its lower bound"), COHEN),
    Term("Abstain", "The smoothed classifier refuses to answer: the top class is not clearly above ½.",
         "Abstentions count as wrong in certified accuracy. They are drawn grey on the maps.",
         "", (B, R), ("CERTIFY",), COHEN),
    Term("Certified accuracy", "Fraction of test points that are correct and certified at radius ≥ r.",
         "The papers' main curve and tables: standard accuracy of g at r = 0, then decreasing in r.",
         r"\mathrm{CA}(r)=\tfrac1N\sum_i \mathbf 1[g(x_i)=y_i \wedge R_i\ge r]", (B, R),
         ("ACR", "Envelope over σ"), COHEN),
    Term("ACR", "Average certified radius: the mean of R over the test set (0 if wrong or abstained).",
         "One number that summarises a certified-accuracy curve (it is the area under it).", "", (R, D),
         ("Certified accuracy",), "Zhai et al. (2020)"),
    Term("Envelope over σ", "The best certified accuracy over several σ at each radius.",
         "Cohen et al. Fig. 7: no single σ is best at every radius; the envelope shows what a well-chosen σ "
         "achieves.", "", (R,), ("Noise level σ",), COHEN),
    Term("Exact smoothing", "In 2D, g is computed exactly by a Gaussian blur of f's regions.",
         "The base classifier is evaluated on a grid once and convolved with the Gaussian kernel, so the smoothed "
         "probabilities and the true distance to g's boundary are known: Monte Carlo certificates are checked "
         "against them.", "", (B, D), ("Distance to the smoothed boundary",)),
    Term("Distance to the smoothed boundary", "The true robust radius of g at a point (2D ground truth).",
         "No certificate may exceed it; the inspector flags any that does as a soundness violation.",
         "", (B, D), ("Soundness", "Exact smoothing")),
    Term("Lipschitz constant", "How fast a function can change: |h(x)−h(y)| ≤ L‖x−y‖.",
         "Theorem 0 turns it into a certificate. For deep networks the product of layer norms is huge, so the "
         "radius is tiny; smoothing fixes that because Φ⁻¹(p(x)) is 1/σ-Lipschitz whatever f is.",
         r"\epsilon = \frac{P_A-P_B}{2L}", (M, B), ("Margin certified radius (MCR)",), COHEN),
    Term("Per-input σ (DDRS)", "Choosing, for each input, the σ that maximises its radius.",
         "Data-dependent smoothing (Alfarra et al., 2022) gives larger radii, but the resulting classifier uses a "
         "different σ at every point, so CERTIFY at σ*(x) does not certify it without a memory.",
         r"\sigma^*(x)=\arg\max_\sigma \sigma\,\Phi^{-1}(p_A(x;\sigma))", (D,),
         ("Memory-based certification", "Soundness"), "Alfarra, Bibi, Torr & Ghanem (2022)"),
    Term("Memory-based certification", "Answers remember earlier certified balls to stay consistent.",
         "Sec. 3.5 of the DDRS paper: a query inside an earlier ball of another class takes that class. It "
         "restores consistency only for the queries seen, in their order.", "", (D,), ("Per-input σ (DDRS)",),
         "Alfarra et al. (2022), Sec. 3.5"),
    Term("Bernstein smoothing", "Deterministic smoothing: the classifier head replaced by its Bernstein polynomial.",
         "No sampling: the head is averaged over a binomial lattice. The paper's radius comes from root-finding, "
         "which finds *a* boundary point, not the nearest one, so it can overestimate.",
         r"B_n(f;x)=\sum_k f(k/n)\prod_j \tbinom{n}{k_j}x_j^{k_j}(1-x_j)^{n-k_j}", (BE,),
         ("Soundness",), "Kao, Ko & Lu"),
    Term("Activation path", "The on/off pattern of ReLUs an input follows through the network.",
         "Fixed and float paths split the network's output into parts; SC-RFP smooths only some of them. Its base "
         "function depends on x, so Cohen's theorem does not apply and its radii are not certificates.",
         "", (), ("Soundness",), "activation paths / float neurons / SC-RFP paper"),
    Term("Margin certified radius (MCR)", "Logit margin divided by √2 K for a K-Lipschitz network.",
         "For 1-Lipschitz (orthogonal) networks the margin itself is a distance; MSCR smooths the margin first.",
         r"\mathrm{MCR}=\frac{z_y-\max_{c\ne y} z_c}{\sqrt2\,K}", (M,), ("Lipschitz constant", "SRA"),
         "Rodrigues Crespo & Teramae"),
    Term("SRA", "Smoothed robustness analysis: worst case over a region of the noise-averaged loss.",
         "Interpolates between average-case (no region) and worst-case (no noise) robustness; with the margin "
         "loss it yields the margin smoothed certified radius (MSCR).", "", (M,),
         ("Margin certified radius (MCR)",), "Rodrigues Crespo & Teramae"),
    Term("Soundness", "A certificate is sound if the true robust radius is never smaller than it.",
         "The product's core promise. Where a paper's radius is not sound (per-input σ without memory, "
         "root-finding radii, SC-RFP), the app says so and shows a counterexample.", "", (B, D, BE),
         ("Certificate", "Distance to the smoothed boundary")),
    Term("Sequential certification", "Anytime-valid CERTIFY: sample in batches, stop once the answer is settled, "
         "same 1 − α.",
         "Fixed-n CERTIFY decides n before the first vote; re-checking its Clopper–Pearson bound after every batch "
         "and stopping at the first success (*peeking*, optional stopping) makes the error rate exceed α. An "
         "**anytime-valid** bound is a confidence sequence: with probability ≥ 1 − α it holds at *every* look at "
         "once (Ville's inequality for a test supermartingale W), so sampling may stop whenever the radius is "
         "settled (certified, or unreachable within the budget) with exactly Cohen's guarantee. Easy points stop "
         "after a few hundred samples instead of 100,000.",
         r"\Pr\big(\exists\,n:\ W_m(n)\ge 1/\alpha\big)\le\alpha\quad\text{whenever } p_A\le m",
         (B, R), ("α (failure probability)", "p_A and its lower bound", "Certified radius"),
         "Ville (1939); Howard et al. (2021); Waudby-Smith & Ramdas (2023); Horváth et al. (2022)"),
    Term("Sound floating-point sampler", "Noise drawn so that float rounding cannot leak x: the certificate "
         "holds for what the computer actually evaluates.",
         "Standard smoothing evaluates fl(x + σ·randn), which is not a Gaussian shift: a base classifier can read "
         "the rounding and flip inside a certified ball. For inputs on a grid (k/255) the sound sampler draws "
         "integer noise η from fair coins and exact thresholds and evaluates fl((k + η)/255), a function of k + η "
         "only; Cohen's theorem then holds up to a tiny, subtracted total-variation slack. `Smooth(..., "
         "sound_float=True)`; the default is the standard sampler.", "", (navigation.PATHS,),
         ("Soundness", "Certificate"), "Voráček & Hein, ICLR 2023"),
)
BY_SLUG = {t.slug: t for t in TERMS}


def find(name: str) -> Term:
    """The term called ``name`` (case and punctuation insensitive); KeyError names the known ones."""
    try:
        return BY_SLUG[slug(name)]
    except KeyError:
        raise KeyError(f"No glossary term {name!r}. Known: {', '.join(t.name for t in TERMS)}") from None


def href(name: str) -> str:
    """Relative URL of the entry (works under any base path): 'glossary#certified-radius'."""
    return f"{navigation.GLOSSARY.url_path}#{find(name).slug}"


def link(name: str, text: str | None = None) -> str:
    """Markdown link to the entry, with the one-line definition as hover text."""
    term = find(name)
    short = term.short.replace('"', "'")
    return f'[{typeset(text or name)}]({href(name)} "{short}")'


def search(query: str) -> tuple[Term, ...]:
    """Terms whose name, definition or text contain every word of ``query`` (case-insensitive)."""
    words = query.lower().split()
    return tuple(t for t in TERMS if all(w in f"{t.name} {t.short} {t.body}".lower() for w in words))
