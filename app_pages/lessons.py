"""Lesson: randomized smoothing in seven steps, each with a button that opens the exact view it talks about."""
import streamlit as st

from ui import lessons

ss = st.session_state
STEPS = lessons.LESSON

st.title("Lesson: certified robustness by randomized smoothing")
st.caption("Seven short steps from the lecture to the research papers. Each **Show me** button opens the page, "
           "model, σ and point the step talks about — the same view a shared link opens — and the sidebar keeps "
           "the step's *try this* prompt with a way back.")

# the radio's state is dropped while another page runs; come back to the step whose target was opened
ss.setdefault("lesson_view", ss.get(lessons.ACTIVE, 0))
if not isinstance(ss["lesson_view"], int) or not 0 <= ss["lesson_view"] < len(STEPS):
    ss["lesson_view"] = 0


def _move(delta: int) -> None:
    ss["lesson_view"] = min(max(ss["lesson_view"] + delta, 0), len(STEPS) - 1)


def _label(i: int) -> str:
    return f"{i + 1}. {STEPS[i].title}" if 0 <= i < len(STEPS) else str(i)


nav, body = st.columns([1, 3], gap="large")
nav.radio("Steps", range(len(STEPS)), key="lesson_view", format_func=_label,
          help="Jump to any step; the order follows the lecture.")
i = ss["lesson_view"]
step = STEPS[i]
with body:
    st.subheader(f"{i + 1} · {step.title}", anchor=False)
    st.markdown(step.text)
    st.latex(step.formula)
    st.info(f"**Try this.** {step.try_this}", icon=":material/lightbulb:")
    if st.button(f"Show me: {step.target.describe()}", key=f"lesson_go_{i}", type="primary",
                 icon=":material/play_circle:", help="Opens that page with this model, σ and point (the sidebar's "
                 "model and σ change accordingly; any other page keeps its own settings)."):
        lessons.go(i)
    if step.also:
        for col, page in zip(st.columns(len(step.also)), step.also):
            col.page_link(page.file, label=f"Also: {page.title}", icon=":material/open_in_new:")
    if step.source:
        st.caption(f"Source: {step.source}")
    a, _, b = st.columns([1, 2, 1])
    a.button("Previous", key="lesson_prev", icon=":material/arrow_back:", disabled=i == 0, on_click=_move, args=(-1,),
             width="stretch", help="The step before.")
    b.button("Next", key="lesson_next_step", icon=":material/arrow_forward:", disabled=i == len(STEPS) - 1,
             on_click=_move, args=(1,), width="stretch", help="The step after.")
