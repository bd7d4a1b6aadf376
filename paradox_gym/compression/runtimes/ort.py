"""The ``onnxruntime`` runtime: the inference core exported to ONNX in memory and run by ONNX Runtime.

How each compression method is built for ONNX Runtime (:data:`ONNX_PLANS`; a method without an entry
raises): the agent's *float* weights are rebuilt into a fresh policy, a torch stage may change them
(pruning, QAT fine-tuning), the core is exported (``torch.onnx.export``, TorchScript exporter, opset
:data:`OPSET`, batch axis dynamic), then ONNX Runtime's own quantizer may quantize the graph:

================  ==================================  =====================================================
method            torch stage before export           ONNX Runtime quantization
================  ==================================  =====================================================
none              --                                  --
ptdq              --                                  ``quantize_dynamic`` (int8 weights, MatMulInteger)
ptsq              --                                  ``quantize_static``, QDQ format, int8 activations and
                                                      weights, MinMax calibration on the agent's
                                                      calibration observations (those torch PTSQ uses)
prune             unstructured pruning (zeros)        -- (exported as is: dense Gemm with zeros)
prune-structured  neurons physically removed, ranked   -- (the exported Gemms are smaller)
                  by L2 norm (``prune-structured-l1``:
                  by L1 norm)
mixed             unstructured pruning                ``quantize_dynamic``
qat               QAT fine-tuning (float weights      ``quantize_static`` QDQ as ``ptsq`` (observers
                  back in the float layers)           recalibrated on the same observations)
================  ==================================  =====================================================

ONNX models exist only in memory: exported into a buffer and passed to ``InferenceSession`` as bytes. ONNX
Runtime's quantizer writes its output to a path, so it writes into a private temporary directory this
process creates and deletes; no ONNX file from anywhere else is ever read.

Footprint: parameters, non-zero parameters, MACs and sparse bytes are those of the torch path that was
exported; ``serialized_bytes`` is the size of the ONNX model actually run (its quantized initializers,
scales and graph included).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import torch

from paradox_gym.compression.agent import CompressedAgent
from paradox_gym.compression.cores import check_observation_space, make_core, postprocess, preprocess
from paradox_gym.compression.footprint import measure
from paradox_gym.compression.inference_path import inference_module
from paradox_gym.compression.pruning import prune_structured, prune_unstructured
from paradox_gym.compression.qat import finetune_float
from paradox_gym.compression.registry import get_method
from paradox_gym.errors import UserInputError

OPSET = 17
INPUT = "obs"
OUTPUT = "out"

#: ``stage(policy, algo, recipe, calibration) -> cost or None``: change the float policy before export.
Stage = Callable[[Any, str, dict[str, Any], "np.ndarray | None"], "dict[str, Any] | None"]


def _no_stage(policy: Any, algo: str, recipe: dict[str, Any], calibration: np.ndarray | None) -> None:
    return None


def _prune_stage(policy: Any, algo: str, recipe: dict[str, Any], calibration: np.ndarray | None) -> None:
    prune_unstructured(policy, algo, recipe["amount"], recipe["pruning"])


def _prune_structured_stage(policy: Any, algo: str, recipe: dict[str, Any],
                            calibration: np.ndarray | None) -> None:
    prune_structured(policy, algo, recipe["amount"], norm=2)


def _prune_structured_l1_stage(policy: Any, algo: str, recipe: dict[str, Any],
                               calibration: np.ndarray | None) -> None:
    prune_structured(policy, algo, recipe["amount"], norm=1)


def _qat_stage(policy: Any, algo: str, recipe: dict[str, Any], calibration: np.ndarray | None) -> dict[str, Any]:
    if calibration is None:
        raise UserInputError("method 'qat' needs calibration observations")
    return finetune_float(policy, algo, calibration, recipe["qat_steps"], recipe["seed"], recipe["backend"])


@dataclass(frozen=True)
class OnnxPlan:
    """How one compression method is built for ONNX Runtime: a torch ``stage`` on the float policy, then
    ``quantize``: None, ``"dynamic"`` or ``"static"`` (QDQ, calibrated)."""

    stage: Stage
    quantize: str | None = None


ONNX_PLANS: dict[str, OnnxPlan] = {
    "none": OnnxPlan(_no_stage),
    "ptdq": OnnxPlan(_no_stage, "dynamic"),
    "ptsq": OnnxPlan(_no_stage, "static"),
    "prune": OnnxPlan(_prune_stage),
    "prune-structured": OnnxPlan(_prune_structured_stage),
    "prune-structured-l1": OnnxPlan(_prune_structured_l1_stage),
    "mixed": OnnxPlan(_prune_stage, "dynamic"),
    "qat": OnnxPlan(_qat_stage, "static"),
}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's deprecation warnings and the quantizer's root-logger advice."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def export_core(core: torch.nn.Module, example: np.ndarray) -> bytes:
    """The serialized ONNX model of ``core`` (input ``obs`` of shape ``(batch, *obs_shape)``, output ``out``)."""
    buffer = io.BytesIO()
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            core, (torch.from_numpy(example),), buffer, input_names=[INPUT], output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}}, opset_version=OPSET, dynamo=False,
        )
    return buffer.getvalue()


class _Calibration:
    """ONNX Runtime ``CalibrationDataReader`` over a float32 observation batch (one batch of 64 at a time)."""

    def __init__(self, batch: np.ndarray, size: int = 64) -> None:
        self._chunks = iter([{INPUT: batch[i:i + size]} for i in range(0, len(batch), size)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._chunks, None)


def quantize_model(model: bytes, how: str, calibration: np.ndarray | None) -> bytes:
    """``model`` quantized by ONNX Runtime: ``"dynamic"`` (``quantize_dynamic``, int8 weights) or
    ``"static"`` (``quantize_static``, QDQ, int8 activations and weights, MinMax on ``calibration``)."""
    import onnx
    from onnxruntime import quantization as q

    proto = onnx.load_from_string(model)
    with tempfile.TemporaryDirectory(prefix="paradox_gym-onnx-") as directory, _quiet():
        path = os.path.join(directory, "quantized.onnx")
        if how == "dynamic":
            q.quantize_dynamic(proto, path, weight_type=q.QuantType.QInt8)
        elif how == "static":
            if calibration is None:
                raise UserInputError("static ONNX Runtime quantization needs calibration observations")
            q.quantize_static(proto, path, _Calibration(calibration), quant_format=q.QuantFormat.QDQ,
                              activation_type=q.QuantType.QInt8, weight_type=q.QuantType.QInt8,
                              calibrate_method=q.CalibrationMethod.MinMax)
        else:
            raise UserInputError(f"unknown ONNX quantization {how!r}; valid: dynamic, static")
        with open(path, "rb") as handle:
            return handle.read()


def op_counts(model: bytes) -> dict[str, int]:
    """Operator type -> count in the ONNX graph (what the quantizer produced, recorded in the recipe)."""
    import onnx

    counts: dict[str, int] = {}
    for node in onnx.load_from_string(model).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def make_session(model: bytes, threads: int) -> Any:
    """An ``InferenceSession`` on the CPU provider with ``threads`` intra-op threads, sequential execution
    and every graph optimisation (QDQ fusion into integer kernels included)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


class OnnxRuntimeAgent:
    """A compression method built for and run by ONNX Runtime (see the module docstring)."""

    runtime = "onnxruntime"

    def __init__(self, agent: CompressedAgent, *, threads: int = 1) -> None:
        import onnxruntime

        check_observation_space(agent.observation_space)
        if agent.method not in ONNX_PLANS:
            raise UserInputError(
                f"method {agent.method!r} is not available on runtime 'onnxruntime'; valid: {', '.join(ONNX_PLANS)}"
            )
        if agent.recipe.get("dtype") != "qint8" and ONNX_PLANS[agent.method].quantize is not None:
            raise UserInputError(f"runtime 'onnxruntime' quantizes to qint8 only, got dtype {agent.recipe['dtype']!r}")
        plan = ONNX_PLANS[agent.method]
        self.agent = agent
        self.algo = agent.algo
        self.method = agent.method
        self.observation_space = agent.observation_space
        self.action_space = agent.action_space
        self.baseline_footprint = agent.baseline_footprint
        policy = agent.float_policy()
        calibration = agent.calibration
        cost = plan.stage(policy, agent.algo, agent.recipe, calibration)
        core = make_core(policy, agent.algo)
        self.squashed = core.squashed
        space = agent.observation_space
        example = preprocess(np.zeros(space.shape or (), dtype=space.dtype), space)[0]
        model = export_core(core, example)
        if plan.quantize is not None:
            calib = preprocess(calibration, agent.observation_space)[0] if calibration is not None else None
            model = quantize_model(model, plan.quantize, calib)
        self.model_bytes = model
        self.session = make_session(model, threads)
        torch_fp = measure(inference_module(policy, agent.algo), sparse=get_method(agent.method).sparse)
        self.footprint = replace(torch_fp, serialized_bytes=len(model))
        recipe = dict(agent.recipe)
        recipe.update({
            "runtime": self.runtime,
            "onnxruntime_version": onnxruntime.__version__,
            "onnx_opset": OPSET,
            "onnx_quantization": plan.quantize,
            "onnx_ops": op_counts(model),
            "intra_op_threads": threads,
        })
        self.recipe = recipe
        self.finetune = cost
        self._run = self.session.run

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        """Deterministic actions for ``observation`` (single or batched), as SB3's ``predict``."""
        if not deterministic:
            raise UserInputError(f"runtime {self.runtime!r} plays deterministic policies only")
        batch, vectorized = preprocess(observation, self.observation_space)
        raw = self._run(None, {INPUT: batch})[0]
        return postprocess(raw, self.action_space, squashed=self.squashed, vectorized=vectorized), state

    def __repr__(self) -> str:
        return f"OnnxRuntimeAgent(algo={self.algo!r}, method={self.method!r}, bytes={len(self.model_bytes)})"
