"""Models: browse the zoo, train a 2D model, upload a model or a CSV, and inspect the current model."""
import numpy as np
import streamlit as st

from cert_core.models.csv_dataset import load_csv
from cert_core.models.data import TOY_DATASETS, make_toy
from cert_core.models.dataset import DataError
from cert_core.models.bundles import ModelLoadError, load_model
from ui import navigation, state
from ui.models import cache as models_cache, figures as charts, hub

ss = st.session_state
NOISE_SIGMAS = tuple(np.round(np.linspace(0, 1.5, 16), 2))

st.title(navigation.MODELS.title)
tab_zoo, tab_train, tab_upload, tab_current = st.tabs(
    [":material/apps: Zoo", ":material/model_training: Train", ":material/upload: Upload",
     ":material/insights: Current model"])

# ---------------------------------------------------------------- zoo
with tab_zoo:
    st.caption("Built-in models, trained deterministically. σ_train is the Gaussian noise used as data "
               "augmentation: models trained with noise have smoother boundaries and larger certified radii.")
    for row in hub.rows_of(hub.zoo_cards(), 4):
        for col, card in zip(st.columns(4), row):
            with col.container(border=True, height="stretch"):     # equal heights in a row
                hub.render_card(card)

# ---------------------------------------------------------------- train
with tab_train:
    st.caption("Train a small MLP on a 2D dataset with Gaussian noise augmentation. "
               "It becomes the current model and can be downloaded as a bundle.")
    datasets = list(TOY_DATASETS) + (["uploaded CSV"] if ss.get("csv_dataset") is not None else [])
    if ss.pop("_csv_new", False):       # a CSV was just uploaded: offer it first
        ss["t_dataset"] = "uploaded CSV"
    if ss.get("t_dataset") not in datasets:
        ss["t_dataset"] = datasets[0]
    with st.form("train_form"):
        a, b, c = st.columns(3)
        name = a.selectbox("Dataset", datasets, key="t_dataset",
                           help="The 2D points to learn; 'uploaded CSV' appears after a CSV upload.")
        samples = a.number_input("Samples", 50, 5000, 600, 50, key="t_samples",
                                 help="How many points the toy generator draws (ignored for a CSV).")
        noise = a.slider("Data noise", 0.0, 0.5, 0.1, 0.01, key="t_noise",
                         help="Jitter of the toy generator: more noise makes classes overlap.")
        seed = a.number_input("Seed", 0, 10_000, 0, key="t_seed", help="Seeds the data, weights and training.")
        width = b.select_slider("Width", (8, 16, 32, 64, 128), 64, key="t_width",
                                help="Hidden units per layer.")
        depth = b.slider("Depth", 1, 6, 3, key="t_depth", help="Number of hidden layers.")
        activation = b.radio("Activation", ("relu", "leaky_relu"), key="t_act", horizontal=True,
                             help="Non-linearity between the layers.")
        sigma_train = c.slider("σ_train", 0.0, 1.0, 0.25, 0.05, key="t_sigma",
                               help="Std of the Gaussian noise added to every training batch (0 = clean training).")
        epochs = c.slider("Epochs", 10, 500, 150, 10, key="t_epochs", help="Full passes over the training split.")
        lr = c.select_slider("Learning rate", (1e-3, 3e-3, 1e-2, 3e-2), 1e-2, key="t_lr",
                             help="Adam step size.")
        go = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:",
                                   help="Train now; the loss curve updates while it runs.")
    if go:
        try:
            data = ss["csv_dataset"] if name == "uploaded CSV" else make_toy(name, int(samples), float(noise), int(seed))
            params = hub.TrainParams(int(width), int(depth), activation, float(sigma_train), int(epochs),
                                     float(lr), int(seed))
            hub.train_and_select(data, params, name)
        except (ValueError, DataError) as exc:
            st.error(f"Training failed: {exc}")
    if ss.get("last_trained"):
        hub.render_trained(ss["last_trained"])

# ---------------------------------------------------------------- upload
with tab_upload:
    up_model, up_csv = st.columns(2)
    with up_model:
        st.markdown("**A model**: a bundle saved by this app, or a TorchScript file you trust.")
        st.caption("A bundle is safe to load: it holds only weights, read with `torch.load(weights_only=True)`, "
                   "so no code in it runs. TorchScript is code: it runs when loaded and on every prediction.")
        trust = st.toggle("Trust TorchScript files", value=False, key="trust_ts",
                          help="Off (default): TorchScript uploads are refused, since their code could write files "
                               "or hang. On: a TorchScript file runs in a separate process with time and memory "
                               "limits and, where Linux Landlock is available, no file writes; it can still read "
                               "what this server can. Switch it on only for files whose author you trust.")
        file = st.file_uploader("Model file", type=["pt", "pth", "bundle", "zip"], key="up_model", max_upload_size=50,
                                help="A .pt bundle (config + weights + metadata) or a TorchScript archive.")
        if file is not None and ss.get("up_model_done") != file.file_id:
            try:
                loaded = load_model(file.getvalue(), trust_torchscript=trust)
                hub.select_uploaded(file.name, loaded)
                ss["up_model_done"] = ss["up_model_fresh"] = file.file_id
                st.rerun()
            except (ModelLoadError, ValueError) as exc:
                st.error(f"**{file.name}** is not a model this app can load: {exc}", icon=":material/error:")
        elif file is not None and ss.pop("up_model_fresh", None) == file.file_id:   # once: not beside later errors
            st.success(f"Loaded **{file.name}**; it is now the current model (see the sidebar).")
    with up_csv:
        st.markdown("**Your own 2D points**: a CSV with columns `x1,x2,label` (header optional).")
        csv = st.file_uploader("CSV of points", type=["csv", "txt"], key="up_csv", max_upload_size=50,
                               help="Rows x1,x2,label; at least 10 rows and 2 points per class.")
        if csv is not None and ss.get("csv_done") != csv.file_id:
            ss["csv_done"] = csv.file_id
            try:
                ss["csv_dataset"], ss["csv_note"] = load_csv(csv.getvalue()), hub.csv_scaling(csv.getvalue())
                ss["csv_error"], ss["_csv_new"] = None, True
                st.rerun()          # the Train tab is drawn above: rerun so it lists the uploaded CSV
            except DataError as exc:
                ss["csv_dataset"], ss["csv_error"] = None, f"**{csv.name}** cannot be used: {exc}"
        elif csv is None and ss.pop("csv_done", None) is not None:
            ss["csv_dataset"] = ss["csv_error"] = None      # the file was removed
            st.rerun()
        if csv is not None and ss.get("csv_error"):
            st.error(ss["csv_error"], icon=":material/error:")
        elif csv is not None and ss.get("csv_dataset") is not None:
            d = ss["csv_dataset"]
            st.success(f"Read {len(d.y_train) + len(d.y_test)} points in {d.num_classes} classes. "
                       f"{ss.get('csv_note', '')}  \nTrain on it in the **Train** tab (it is selected there), "
                       "or evaluate the current model:", icon=":material/check_circle:")
            hub.evaluate_on_csv(d)

# ---------------------------------------------------------------- current model
with tab_current:
    current = state.current_model_or_stop()
    st.markdown(f"### {current.label}")
    st.caption(current.loaded.metadata.get("description", ""))
    if current.dataset is None:
        st.info(f"No dataset to evaluate on: {current.dataset_note}.")
    else:
        d = current.dataset
        hub.accuracy_metrics(current)
        acc = models_cache.noise_curve(current.key, current.model, current.dataset_key, d.x_test, d.y_test, NOISE_SIGMAS)
        st.plotly_chart(charts.noise_accuracy(NOISE_SIGMAS, acc, current.loaded.metadata.get("sigma_train"),
                                              state.sigma()), key="noise_curve", theme=None, config={"displaylogo": False})
