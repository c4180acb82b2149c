"""An image folder in torchvision's ``ImageFolder`` layout (``root/<class>/<image>``), read from a local folder
only, with the standard evaluation transform: ``Resize(resize)`` (shorter side) then ``CenterCrop(image_size)``
then pixels in [0, 1] (ImageNet: Resize 256, CenterCrop 224, as in torchvision's reference scripts and in
Cohen et al.'s ``datasets.py``). No normalisation here: smoothing noise is added in pixel space, so a
normalisation layer belongs inside the model (``cert_core.models.checkpoints``).

Labels: torchvision's rule (the sorted position of the class folder), except when every class folder is named
by an integer (``0/``, ``17/``, ``999/``): then that integer is the label, so a few classes of a 1000-class
model can be certified without the other 997 folders.

Shapes: N images, ``x_test`` (N, 3, image_size, image_size) float32 in [0, 1], ``y_test`` (N,) int64; the
train split is empty (a folder is test data only).
"""
from __future__ import annotations

import pathlib

import numpy as np

from cert_core.models.dataset import Dataset, DatasetUnavailable, DataError
from cert_core.validation import byte_size, check_int

MAX_FOLDER_BYTES = 4 * 2**30     # the images as float32 (50,000 ImageNet images at 224 would take 30 GB)


def default_resize(image_size: int) -> int:
    """The shorter side before the centre crop: 256 for 224 (ratio 256/224), as torchvision's references do."""
    return int(round(image_size * 256 / 224))


def load_image_folder(root, image_size: int = 224, resize: int | None = None,
                      max_images: int | None = None) -> Dataset:
    """The images under ``root`` (``ImageFolder`` layout, files sorted by class then name), resized and
    centre-cropped to (3, image_size, image_size); ``max_images`` keeps the first ones in that order.

    Raises DatasetUnavailable naming the folder when it is missing or holds no class folder with images, and
    DataError naming the file for an image that cannot be decoded, or when the images would exceed
    ``MAX_FOLDER_BYTES`` (nothing is decoded then)."""
    func = "load_image_folder"
    image_size = check_int(image_size, "image_size", func, low=1, high=4096)
    resize = default_resize(image_size) if resize is None else check_int(resize, "resize", func, low=1, high=8192)
    if resize < image_size:
        raise ValueError(f"The 'resize' parameter of {func} must be >= image_size ({image_size}) for the centre crop. "
                         f"Got {resize} instead.")
    if max_images is not None:
        max_images = check_int(max_images, "max_images", func, low=1)
    folder = pathlib.Path(root).expanduser()
    import torchvision.datasets as tvd
    import torchvision.transforms as T
    transform = T.Compose([T.Resize(resize), T.CenterCrop(image_size), T.ToTensor()])
    try:
        ds = tvd.ImageFolder(str(folder), transform=transform)
    except (FileNotFoundError, NotADirectoryError, OSError) as exc:
        raise DatasetUnavailable(
            f"No images in the ImageFolder layout were found in the folder {folder} ({exc}). Put one sub-folder "
            "per class there, holding .jpg/.png/... images (folder/<class>/<image>); nothing is downloaded.") from None
    count = len(ds) if max_images is None else min(len(ds), max_images)
    need = count * 3 * image_size * image_size * 4
    if need > MAX_FOLDER_BYTES:
        raise DataError(f"{count:,} images of 3×{image_size}×{image_size} take {byte_size(need)} as float32, more "
                        f"than the limit of {byte_size(MAX_FOLDER_BYTES)} (cert_core.models.image_folder."
                        f"MAX_FOLDER_BYTES); certify fewer (--max-examples, --skip) or in parts.")
    x = np.empty((count, 3, image_size, image_size), np.float32)
    for i in range(count):
        try:
            image, _ = ds[i]
        except (OSError, ValueError) as exc:          # PIL: UnidentifiedImageError, truncated file, ...
            raise DataError(f"The image {ds.samples[i][0]} could not be read ({type(exc).__name__}: {exc}).") from None
        x[i] = image.numpy()
    numbered = all(c.isdecimal() for c in ds.classes)
    labels = [int(ds.classes[t]) if numbered else t for _, t in ds.samples[:count]]
    y = np.asarray(labels, dtype=np.int64)
    num_classes = max(labels) + 1 if numbered else len(ds.classes)
    names = tuple(str(c) for c in range(num_classes)) if numbered else tuple(ds.classes)
    spec = {"name": "image_folder", "root": str(folder.resolve()), "image_size": image_size, "resize": resize,
            "max_images": max_images}
    shape = (3, image_size, image_size)
    return Dataset("image_folder", np.zeros((0, *shape), np.float32), np.zeros(0, np.int64), x, y,
                   int(num_classes), shape, names, spec)

