"""PyTorch re-implementation of the official LitePose model (reference only).

Module names and therefore ``state_dict`` keys are the official ones
(``first.*``, ``stage.*``, ``deconv_refined.*``, ``deconv_raw.*``,
``deconv_bnrelu.*``, ``final_refined.*``, ``final_raw.*``), so official
checkpoints load with ``load_state_dict(strict=True)``.  Imported only when
torch is installed; the runtime never needs it.
"""
from __future__ import annotations

import torch
from torch import nn

from .archs import STEM_CHANNELS, Arch, DATASET_JOINTS, get_arch, make_divisible

__all__ = ["LitePose", "build_model", "randomize_"]


def _convbnrelu(inp: int, oup: int, ker: int, stride: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inp, oup, ker, stride, ker // 2, groups=groups, bias=False),
        nn.BatchNorm2d(oup),
        nn.ReLU6(inplace=True),
    )


class InvBottleneck(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int, ker: int, exp: int):
        super().__init__()
        feature_dim = make_divisible(round(inplanes * exp), 8)
        self.inv = nn.Sequential(
            nn.Conv2d(inplanes, feature_dim, 1, 1, 0, bias=False),
            nn.BatchNorm2d(feature_dim),
            nn.ReLU6(inplace=True),
        )
        self.depth_conv = nn.Sequential(
            nn.Conv2d(feature_dim, feature_dim, ker, stride, ker // 2, groups=feature_dim, bias=False),
            nn.BatchNorm2d(feature_dim),
            nn.ReLU6(inplace=True),
        )
        self.point_conv = nn.Sequential(
            nn.Conv2d(feature_dim, planes, 1, 1, 0, bias=False),
            nn.BatchNorm2d(planes),
        )
        self.use_residual_connection = stride == 1 and inplanes == planes

    def forward(self, x):
        out = self.point_conv(self.depth_conv(self.inv(x)))
        if self.use_residual_connection:
            out = out + x
        return out


class SepConv2d(nn.Module):
    def __init__(self, inp: int, oup: int, ker: int = 5):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(inp, inp, ker, 1, ker // 2, groups=inp, bias=False),
            nn.BatchNorm2d(inp),
            nn.ReLU(inplace=True),
            nn.Conv2d(inp, oup, 1, 1, 0, bias=False),
        )

    def forward(self, x):
        return self.conv(x)


class LitePose(nn.Module):
    """The official ``LitePose`` network (3 deconv layers of kernel 4, tags
    per joint, heatmaps+tags at 1/4 and heatmaps at 1/2 resolution)."""

    def __init__(self, arch: Arch, num_joints: int):
        super().__init__()
        self.arch = arch
        self.num_joints = num_joints
        inp = arch.input_channel
        self.first = nn.Sequential(
            _convbnrelu(3, STEM_CHANNELS, 3, 2),
            _convbnrelu(STEM_CHANNELS, STEM_CHANNELS, 3, 1, groups=STEM_CHANNELS),
            nn.Conv2d(STEM_CHANNELS, inp, 1, 1, 0, bias=False),
            nn.BatchNorm2d(inp),
        )
        channel = [inp]
        stages = []
        for st in arch.stages:
            layer = []
            for b, (t, k) in enumerate(st.blocks):
                layer.append(InvBottleneck(inp, st.channel, st.stride if b == 0 else 1, k, t))
                inp = st.channel
            stages.append(nn.Sequential(*layer))
            channel.append(st.channel)
        self.stage = nn.ModuleList(stages)
        self.channel = channel
        filters = list(arch.deconv)
        refined, raw, bnrelu = [], [], []
        inplanes = channel[-1]
        for i, planes in enumerate(filters):
            refined.append(nn.ConvTranspose2d(inplanes, planes, 4, 2, 1, 0, bias=False))
            raw.append(nn.ConvTranspose2d(channel[-i - 2], planes, 4, 2, 1, 0, bias=False))
            bnrelu.append(nn.Sequential(nn.BatchNorm2d(planes), nn.ReLU(inplace=True)))
            inplanes = planes
        self.deconv_refined = nn.ModuleList(refined)
        self.deconv_raw = nn.ModuleList(raw)
        self.deconv_bnrelu = nn.ModuleList(bnrelu)
        # final layer 0 (1/4 res): heatmaps + per-joint tags; layer 1 (1/2 res): heatmaps.
        outs = [2 * num_joints, num_joints]
        self.final_refined = nn.ModuleList(SepConv2d(filters[i], outs[i - 1], 5) for i in (1, 2))
        self.final_raw = nn.ModuleList(SepConv2d(channel[-i - 3], outs[i - 1], 5) for i in (1, 2))

    def forward(self, x):
        x = self.first(x)
        x_list = [x]
        for st in self.stage:
            x_list.append(st(x_list[-1]))
        outputs = []
        input_refined, input_raw = x_list[-1], x_list[-2]
        for i in range(len(self.deconv_refined)):
            y = self.deconv_refined[i](input_refined) + self.deconv_raw[i](input_raw)
            input_refined = self.deconv_bnrelu[i](y)
            input_raw = x_list[-i - 3]
            if i > 0:
                outputs.append(self.final_refined[i - 1](input_refined) + self.final_raw[i - 1](input_raw))
        return outputs


def build_model(arch: str | Arch, dataset: str = "crowdpose") -> LitePose:
    a = arch if isinstance(arch, Arch) else get_arch(arch)
    if dataset not in DATASET_JOINTS:
        raise ValueError(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASET_JOINTS)}")
    return LitePose(a, DATASET_JOINTS[dataset]).eval()


@torch.no_grad()
def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Deterministic random weights with non-trivial BatchNorm statistics."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            fan_in = m.weight[0].numel() if isinstance(m, nn.Conv2d) else m.weight.shape[0] * m.weight[0, 0].numel()
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
        elif isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.weight.copy_(0.5 + torch.rand(n, generator=g))
            m.bias.copy_(0.2 * torch.randn(n, generator=g))
            m.running_mean.copy_(0.2 * torch.randn(n, generator=g))
            m.running_var.copy_(0.5 + torch.rand(n, generator=g))
    return model
