"""The guided lesson on randomized smoothing, as data, and the two actions that use it.

Seven steps follow the lecture (Sadeghzadeh, "Certifiable Robustness", after Cohen, Rosenfeld & Kolter 2019)
and then the method papers. Each step says a few sentences, shows one formula, gives a "try this" prompt
and names a ``Target``: a page plus the shareable state (model, σ, point). ``go(step)`` opens it through
``links.follow_link`` -- the very query parameters a copied link carries -- so a lesson button and a link
pasted by a student land on the same view. The points were chosen on the exact 2D maps; the tests check
that what each step claims about its point is true there.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui import links
from ui.glossary import link
from ui.navigation import BERNSTEIN, BOUNDARIES, DDRS, LESSONS, MARGIN, PATHS, RUNS, Page

ACTIVE = "lesson_step"            # session key: the step whose target was opened last (sidebar card)


@dataclass(frozen=True)
class Target:
    page: Page                                  # from the page registry (ui/navigation.py)
    model: str                                  # zoo name
    sigma: float                                # in [state.SIGMA_MIN, state.SIGMA_MAX]
    point: tuple[float, float] | None = None    # inside state.VIEW

    @property
    def query(self) -> dict[str, str]:
        """The query parameters of a shared link to this view (same format as ``links.sync_url``)."""
        q = {"model": self.model, "sigma": f"{self.sigma:g}"}
        if self.point is not None:
            q.update(x=f"{self.point[0]:.3f}", y=f"{self.point[1]:.3f}")
        return q

    def describe(self) -> str:
        where = f", point ({self.point[0]:g}, {self.point[1]:g})" if self.point else ""
        return f"{self.page.title} · {self.model} · σ = {self.sigma:g}{where}"


@dataclass(frozen=True)
class Step:
    title: str
    text: str                                   # markdown, a few sentences
    formula: str                                # LaTeX for st.latex
    try_this: str                               # what to do once the target is open
    target: Target
    also: tuple[Page, ...] = ()                 # further pages to open (state unchanged)
    source: str = ""                            # where the formula comes from


LESSON: tuple[Step, ...] = (
    Step("What a certificate promises",
         f"An attack that fails proves nothing: a cleverer one might succeed. A {link('certificate')} is a "
         f"proof that *no* perturbation of ℓ2 size up to a {link('certified radius', 'radius R')} changes the "
         f"answer of the {link('smoothed classifier g')}. For randomized smoothing the proof holds with "
         f"probability at least 1 − α over the sampling.",
         r"\forall\,\delta,\ \|\delta\|_2 \le R:\quad g(x+\delta) = g(x)\qquad\text{with probability} \ge 1-\alpha",
         "The black circle is the Monte Carlo certificate, the other the exact distance to the smoothed boundary: "
         "the certificate never crosses a boundary. Click closer to the gap between the moons and watch both shrink.",
         Target(BOUNDARIES, "moons-mlp-s0.25", 0.25, (0.3, 0.6)),
         source="Lecture, definition of ε-robustness; Cohen et al. (2019), Theorem 1"),
    Step("Noise and votes",
         f"g(x) is computed by adding Gaussian noise to x many times and letting the {link('base classifier f')} "
         f"vote. CERTIFY picks the winner with n₀ samples, then counts its votes n_A among n fresh samples and "
         f"replaces the unknown p_A by a {link('Clopper–Pearson bound', 'Clopper–Pearson lower bound')} p̲_A: "
         f"an unlucky sample can only make the radius smaller.",
         r"\underline{p_A} = \mathrm{Beta}^{-1}\!\left(\alpha;\ n_A,\ n-n_A+1\right),\qquad "
         r"R = \sigma\,\Phi^{-1}(\underline{p_A})",
         "Here p_A is about 0.74. Look at the noise cloud and the vote bars; then lower n (estimation) from "
         "10 000 to 1 000: p̲_A drops and the radius shrinks, although the classifier did not change.",
         Target(BOUNDARIES, "moons-mlp-s0.25", 0.25, (1.0, 0.5)),
         source="Cohen et al. (2019), PREDICT and CERTIFY (Section 3.2)"),
    Step("The σ trade-off",
         f"The {link('noise level σ')} is a knob between accuracy and robustness. The radius is proportional "
         f"to σ, but more noise blurs away thin regions: the spiral arms dissolve, p_A falls towards ½ and g "
         f"{link('abstain', 'abstains')}. With n samples even a unanimous vote caps the radius.",
         r"R \le \sigma\,\Phi^{-1}\!\left(\alpha^{1/n}\right)\quad(\text{all } n \text{ votes for } c_A)",
         "Drag σ in the sidebar down to 0.12, then up to 1.0. Small σ keeps the arms but certifies tiny circles; "
         "large σ certifies big circles far out and greys out the centre.",
         Target(BOUNDARIES, "spirals-mlp-s0.25", 0.5, (1.5, -0.5)),
         also=(RUNS,), source="Cohen et al. (2019), Section 4 and Table 2; lecture, 'Experiments'"),
    Step(r"Why the radius is $\sigma\Phi^{-1}(p_A)$",     # typeset: every place a title shows reads Markdown
         f"A {link('Lipschitz constant')} L turns a margin into a radius (Theorem 0), but deep networks have "
         f"huge L. Smoothing helps: whatever f is, the map x ↦ Φ⁻¹(p_c(x)) of the smoothed probabilities is "
         f"1/σ-Lipschitz. So p_A can fall and p_B rise only so fast, and the top class survives while",
         r"\|\delta\|_2 < \frac{\sigma}{2}\Big(\Phi^{-1}(\underline{p_A})-\Phi^{-1}(\overline{p_B})\Big)"
         r"\ \ge\ \sigma\,\Phi^{-1}(\underline{p_A})\quad\text{using}\ \overline{p_B}=1-\underline{p_A}",
         "In the inspector's table compare three numbers: the Monte Carlo radius σΦ⁻¹(p̲_A), the exact "
         "σ/2(Φ⁻¹(p_A) − Φ⁻¹(p_B)) and the true distance to the smoothed boundary. Theorem 0 on the raw network "
         "gives a far smaller radius.",
         Target(BOUNDARIES, "moons-mlp-s0.25", 0.5, (-0.5, 0.5)),
         also=(MARGIN,), source="Lecture, Theorem 0 and the 1/σ-Lipschitz proof of Theorem 1"),
    Step("Beyond one σ",
         f"One σ for all inputs is a compromise. {link('Per-input σ (DDRS)', 'Data-dependent smoothing')} picks "
         f"for each x the σ that maximises its radius. Other papers replace sampling by "
         f"{link('Bernstein smoothing', 'Bernstein polynomials')}, smooth only some {link('activation path', 'activation paths')}, "
         f"or certify the {link('Margin certified radius (MCR)', 'logit margin')} of a Lipschitz network.",
         r"\sigma^*(x) = \arg\max_{\sigma}\ \sigma\,\Phi^{-1}\big(p_A(x;\sigma)\big)",
         "Here the fixed σ = 0.25 certifies 1.0 (its cap, 4σ); the R(σ) curve peaks near σ* ≈ 0.4 at R* ≈ 1.43, "
         "still below the true distance ≈ 1.48. Compare the σ*(x) and R*(x) maps with the fixed-σ map, then open "
         "the Bernstein and SRA pages for deterministic and margin certificates.",
         Target(DDRS, "moons-mlp-s0.25", 0.25, (-0.2, 1.8)),
         also=(BERNSTEIN, MARGIN, PATHS),
         source="Alfarra et al. (2022), Alg. 1; Kao, Ko & Lu; Rodrigues Crespo & Teramae"),
    Step("Soundness pitfalls",
         f"A radius is only a certificate if the theorem's assumptions hold for the classifier you deploy. "
         f"Per-input σ breaks them (g uses another σ at every point of the ball), root-finding finds *a* "
         f"boundary point, not the nearest, and SC-RFP's base function depends on x. "
         f"{link('Soundness')} is checked here against exact 2D ground truth.",
         r"R^*(x) > \operatorname{dist}\big(x,\ \{x' : g_{\sigma^*(x')}(x') \ne g(x)\}\big)"
         r"\ \Rightarrow\ \text{not a certificate}",
         "At this point σ* = 1.5 claims a radius ≈ 2.2, but a point of the other class lies ≈ 1.6 away: the "
         "page flags it in red. Open the stripe counterexample and the memory-based certification below the maps.",
         Target(DDRS, "moons-mlp-s0.25", 0.25, (1.9, -1.4)),
         also=(BERNSTEIN,),
         source="Súkeník, Kuvshinov & Günnemann (2022); Alfarra et al. (2022) Sec. 3.5; Kao, Ko & Lu Eq. 9–10"),
    Step("α, n and when to stop",
         f"α is the chance that a certificate is wrong, and Clopper–Pearson keeps that promise only for an n fixed "
         f"before the first vote: peeking after every batch and stopping at the first success makes errors more "
         f"likely than α. {link('Sequential certification')} uses a bound that holds at every look at once, so it "
         f"may stop as soon as the radius is settled, with the same α. Easy points need far fewer than n samples.",
         r"\Pr\big(\exists\,n:\ \underline{p_A}(n) > p_A\big)\le\alpha"
         r"\qquad\text{vs.}\qquad \Pr\big(\underline{p_A}(n) > p_A\big)\le\alpha\ \text{for one fixed } n",
         "Under the inspector's table, the blue bound climbs as samples arrive and stops after about 5,000 samples "
         "with nearly the radius of fixed n (dashed), which needed all 10,100. Lower n to 1,000 and compare again; "
         "then start a Sequential CERTIFY run on Certification runs: it reports the samples each example used.",
         Target(BOUNDARIES, "moons-mlp-s0.25", 0.25, (0.3, 0.6)),
         also=(RUNS,), source="Ville (1939); Waudby-Smith & Ramdas (2023); Horváth et al. (2022)"),
)


def go(index: int) -> None:
    """Open step ``index``'s target with its model, σ and point (through the shared-link mechanism)."""
    st.session_state[ACTIVE] = index
    links.follow_link(LESSON[index].target.page.file, LESSON[index].target.query)


def sidebar_card() -> None:
    """While a lesson step is open, the sidebar reminds the class what to try, with back / next buttons."""
    index = st.session_state.get(ACTIVE)
    if index is None or not 0 <= index < len(LESSON):
        return
    step = LESSON[index]
    with st.container(border=True, key="lesson_card"):
        st.markdown(f"**Lesson {index + 1}/{len(LESSON)} · {step.title}**  \n:material/lightbulb: {step.try_this}")
        # one button per line, each the card's width: side by side they were cut to "Le…" / "N…" in a narrow
        # (presenter) sidebar
        if st.button("Lesson", key="lesson_back", icon=":material/arrow_back:",
                     help="Back to the lesson text.", width="stretch"):
            # the link of the view on screen (session state), re-applied before any widget exists, exactly like
            # a pasted link: the address bar and the σ slider cannot disagree after the switch
            links.follow_link(LESSONS.file, links.link_params())
        if index + 1 < len(LESSON) and st.button("Next", key="lesson_next",
                                                 icon=":material/arrow_forward:", width="stretch",
                                                 help=f"Step {index + 2}: {LESSON[index + 1].title}"):
            go(index + 1)
        if st.button("Hide this card", key="lesson_close", icon=":material/close:", type="tertiary",
                     help="Hide this lesson card."):
            st.session_state.pop(ACTIVE, None)
            st.rerun()
