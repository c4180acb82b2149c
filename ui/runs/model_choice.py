"""The runs page's model: the sidebar's, or a researcher's upload (issue 18): a ``checkpoint.pth.tar`` of Cohen et
al. (``cert_core.models.checkpoints.load_cohen_checkpoint``) or a torchvision classification architecture with the
user's state dict (``load_torchvision``). Drawn above the start form, not in it, so that the page says at once which
input the uploaded network takes and the form offers only data that can fit it (``launch.UPLOAD_DATA_CHOICES``)."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from cert_core.models.architectures import Normalize
from cert_core.models.bundles import LoadedModel, ModelLoadError
from cert_core.runs.store import RunStore
from ui import state
from ui.runs import launch as run_launch

ss = st.session_state


@dataclass(frozen=True)
class UploadParams:
    """What an uploaded file is loaded as; the cache key of ``_loaded`` (the bytes themselves are not hashed)."""
    file_id: str                        # Streamlit's id of this upload
    arch: str | None                    # torchvision architecture; None: a Cohen et al. checkpoint (its 'arch')
    num_classes: int                    # torchvision only
    image_size: int                     # torchvision only: input 3 × size × size
    mean: tuple[str, ...] | None        # torchvision only: the normalisation put inside the model
    std: tuple[str, ...] | None


@dataclass(frozen=True)
class ModelChoice:
    """The model the form's runs certify; ``params`` and ``data`` are None for the sidebar's model."""
    current: state.CurrentModel | None  # None: an upload still missing or refused (``problem`` says why)
    upload: bool = False                # an upload was chosen (the data choices are UPLOAD_DATA_CHOICES)
    params: UploadParams | None = None
    data: bytes | None = None
    problem: str = ""


@st.cache_resource(show_spinner="Loading the checkpoint…", max_entries=2)
def _loaded(params: UploadParams, _data: bytes) -> LoadedModel:
    return run_launch.load_checkpoint(_data, params.arch, params.num_classes, params.image_size, params.mean,
                                      params.std)


def input_note(loaded: LoadedModel) -> str:
    """What the uploaded network takes, in words: its input shape, classes and normalisation."""
    meta, shape = loaded.metadata, tuple(loaded.input_shape)
    size = " × ".join(map(str, shape))
    inside = "its normalisation inside" if isinstance(loaded.model[0], Normalize) else "no normalisation layer"
    square = f"{shape[1]} × {shape[2]}"
    return (f"**{meta.get('name')}**: {loaded.num_classes} classes; it takes **{size}** pixels in [0, 1] ({inside}). "
            f"Data: CIFAR-10's test split (3 × 32 × 32), an image folder (resized and centre-cropped to {square}), "
            f"or an .npz whose x has shape (N, {size.replace(' × ', ', ')}).")


def _fields(choice: str):
    a, b, c = st.columns(3) if choice != run_launch.COHEN else (*st.columns([1, 2]), None)
    upload = a.file_uploader("Checkpoint / weights", type=["tar", "pth", "pt"], key="rn_ckpt", max_upload_size=256,
                             help="Up to 256 MB: Cohen et al.'s checkpoint.pth.tar, or a state dict saved with "
                                  "torch.save (bare or under 'state_dict'; '1.'/'module.' prefixes are removed).")
    if choice == run_launch.COHEN:
        b.caption("Cohen et al.'s arch picks the network: cifar_resnet20 / cifar_resnet110 take 3 × 32 × 32 "
                  "CIFAR-10 images, resnet50 takes 3 × 224 × 224 ImageNet images; their normalisation is inside.")
        return upload, None, 1000, 224, None, None
    b.text_input("torchvision architecture", "resnet18", key="rn_arch",
                 help="A torchvision classification model name: resnet18, resnet50, vgg16, vit_b_16, ...")
    classes = b.number_input("Classes", 1, 100_000, 1000, key="rn_classes", help="The architecture's classes.")
    size = b.number_input("Input size", 8, 1024, 224, key="rn_image_size",
                          help="Its input: 3 × size × size pixels in [0, 1].")
    c.text_input("Mean (optional)", "", key="rn_mean", placeholder="0.485,0.456,0.406",
                 help="Per-channel mean of a normalisation layer put inside the model (noise is added to pixels).")
    c.text_input("Std (optional)", "", key="rn_std", placeholder="0.229,0.224,0.225",
                 help="Per-channel std, with Mean.")
    mean, std = (tuple(ss.get(k, "").split(",")) if ss.get(k, "").strip() else None for k in ("rn_mean", "rn_std"))
    return upload, ss.get("rn_arch", "").strip(), int(classes), int(size), mean, std


def model_choice(current: state.CurrentModel | None) -> ModelChoice:
    """Draw the model choice (above the start form) and load an upload (cached per file and settings)."""
    st.selectbox("Model", run_launch.MODEL_CHOICES, key="rn_model",
                 format_func=lambda m: f"{m}: {current.label}" if m == run_launch.SIDEBAR and current else m,
                 help="The sidebar's model, a checkpoint.pth.tar of Cohen et al. (arch cifar_resnet20/110 or "
                      "resnet50, with their normalisation inside), or a torchvision classification architecture with "
                      "your state dict. Files are read with torch.load(weights_only=True): no code in them runs.")
    choice = ss.get("rn_model", run_launch.SIDEBAR)
    if choice == run_launch.SIDEBAR:
        return ModelChoice(current)
    upload, *settings = _fields(choice)
    if upload is None:
        what = "checkpoint.pth.tar" if choice == run_launch.COHEN else "weights file"
        return ModelChoice(None, True, problem=f"Upload the {what} first (Checkpoint / weights).")
    params = UploadParams(upload.file_id, *settings)
    data = upload.getvalue()
    try:
        loaded = _loaded(params, data)
    except ModelLoadError as exc:
        problem = f"{upload.name} cannot be used as {choice}: {exc}"
        st.error(problem, icon=":material/error:")
        return ModelChoice(None, True, problem=problem)
    st.info(input_note(loaded), icon=":material/input:")
    note = "an uploaded checkpoint: choose CIFAR-10, an image folder or an .npz as data"
    label = f"{loaded.metadata.get('name')} (uploaded)"
    return ModelChoice(state.CurrentModel(f"upload:{upload.file_id}", label, loaded, None, note), True, params, data)


def model_spec(choice: ModelChoice, store: RunStore) -> dict | None:
    """The run's model spec: None for the sidebar's model (``launch.start`` writes it), else the upload saved for
    the worker (``launch.checkpoint_spec``)."""
    if choice.params is None:
        return None
    p = choice.params
    return run_launch.checkpoint_spec(choice.data, store, p.arch, p.num_classes, p.image_size, p.mean, p.std)
