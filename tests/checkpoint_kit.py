"""Researchers' checkpoints as they are saved, with random weights (nothing is downloaded): Cohen et al.'s
``NormalizeLayer`` (no state-dict keys), non-trivial BatchNorm statistics, and an independent forward of their CIFAR
ResNet (``archs/cifar_resnet.py`` of locuslab/smoothing, from bearpaw's pytorch-classification) computed from the
state dict alone, so that a loaded checkpoint is compared with the network as they defined it, not with our class."""
import torch
import torch.nn.functional as F
from torch import nn


class NormalizeLayer(nn.Module):
    """As in Cohen et al.'s datasets.py: means/stds as plain attributes, so no keys in the state dict."""
    def __init__(self, mean, std):
        super().__init__()
        self.mean, self.std = torch.tensor(mean).view(1, -1, 1, 1), torch.tensor(std).view(1, -1, 1, 1)

    def forward(self, x):
        return (x - self.mean) / self.std


def randomised(net):
    """``net`` in eval mode with seeded, non-trivial BatchNorm running statistics."""
    torch.manual_seed(0)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return net.eval()


def save(payload, path):
    torch.save(payload, path)
    return path


def cifar_resnet_forward(state: dict, x: torch.Tensor) -> torch.Tensor:
    """Logits of Cohen et al.'s CIFAR ResNet (conv-BN-ReLU, three stages of BasicBlocks whose first block strides 2
    from the second stage on, with a 1×1 conv + BN shortcut when the shape changes, ReLU after the sum, 8×8 average
    pool, fc) for the network's state dict (keys without the ``1.`` prefix) and normalised inputs (B, 3, 32, 32)."""
    def bn(h, name):
        return F.batch_norm(h, state[f"{name}.running_mean"], state[f"{name}.running_var"], state[f"{name}.weight"],
                            state[f"{name}.bias"], training=False, eps=1e-5)

    def conv(h, name, stride=1):
        weight = state[f"{name}.weight"]
        return F.conv2d(h, weight, stride=stride, padding=weight.shape[-1] // 2)

    h = F.relu(bn(conv(x, "conv1"), "bn1"))
    for stage in (1, 2, 3):
        block = 0
        while f"layer{stage}.{block}.conv1.weight" in state:
            name, stride = f"layer{stage}.{block}", 2 if stage > 1 and block == 0 else 1
            out = bn(conv(F.relu(bn(conv(h, f"{name}.conv1", stride), f"{name}.bn1")), f"{name}.conv2"), f"{name}.bn2")
            shortcut = (bn(conv(h, f"{name}.downsample.0", stride), f"{name}.downsample.1")
                        if f"{name}.downsample.0.weight" in state else h)
            h, block = F.relu(out + shortcut), block + 1
    return F.linear(F.avg_pool2d(h, 8).flatten(1), state["fc.weight"], state["fc.bias"])
