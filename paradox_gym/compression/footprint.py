"""Size and cost figures of an inference path (float, quantized or pruned).

All sizes are in bytes; ``macs`` are dense multiply-accumulates per forward pass of one observation.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

#: bytes of one CSR index (column index or row pointer); int32, as in scipy.sparse.
CSR_INDEX_BYTES = 4


@dataclass(frozen=True)
class Footprint:
    """Footprint of an inference path.

    Attributes:
        parameters: number of weights and biases (quantized weights counted once each).
        nonzero_parameters: how many of them are not zero.
        serialized_bytes: bytes of the module's ``state_dict`` written by ``torch.save`` into memory
            (for quantized layers, the packed parameters).
        macs: dense multiply-accumulates per forward pass (sum of ``in_features x out_features`` over
            all Linear layers), so physically smaller layers count less and masked ones do not.
        sparse_bytes: bytes to store the Linear weights in CSR (non-zero values at their storage width,
            int32 column indices, int32 row pointers) plus the biases dense; ``None`` unless the
            weights were magnitude-pruned (methods ``prune`` and ``mixed``).
    """

    parameters: int
    nonzero_parameters: int
    serialized_bytes: int
    macs: int
    sparse_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _linear_tensors(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None, int] | None:
    """(dense float weight, bias, bytes per stored weight value) of a float or quantized Linear."""
    if type(module) is nn.Linear:
        return module.weight.detach(), module.bias, module.weight.element_size()
    packed = getattr(module, "_packed_params", None)
    if packed is not None and callable(getattr(module, "weight", None)):
        weight = module.weight()
        bias = module.bias()
        if weight.is_quantized:
            return weight.dequantize(), bias, 1
        # float16 dynamic quantization unpacks to float32; it is stored as float16.
        width = 2 if getattr(packed, "dtype", None) == torch.float16 else weight.element_size()
        return weight.float(), bias, width
    return None


def serialized_size(module: nn.Module) -> int:
    """Bytes of ``torch.save(module.state_dict())`` written into memory."""
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def measure(module: nn.Module, *, sparse: bool = False) -> Footprint:
    """Footprint of ``module`` (typically the inference path ``ModuleDict``).

    Args:
        module: the module to measure.
        sparse: also compute ``sparse_bytes`` (CSR size); otherwise it is ``None``.
    """
    parameters = nonzero = macs = 0
    csr = 0
    with torch.no_grad():
        for sub in module.modules():
            linear = _linear_tensors(sub)
            if linear is not None:
                weight, bias, width = linear
                rows, cols = weight.shape
                macs += rows * cols
                nnz_w = int((weight != 0).sum())
                parameters += weight.numel()
                nonzero += nnz_w
                csr += nnz_w * (width + CSR_INDEX_BYTES) + (rows + 1) * CSR_INDEX_BYTES
                if bias is not None:
                    parameters += bias.numel()
                    nonzero += int((bias != 0).sum())
                    csr += bias.numel() * bias.element_size()
                continue
            for parameter in sub.parameters(recurse=False):
                parameters += parameter.numel()
                nonzero += int((parameter != 0).sum())
                csr += parameter.numel() * parameter.element_size()
    return Footprint(
        parameters=parameters,
        nonzero_parameters=nonzero,
        serialized_bytes=serialized_size(module),
        macs=macs,
        sparse_bytes=csr if sparse else None,
    )
