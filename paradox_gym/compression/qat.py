"""Quantization-aware training (QAT) of an SB3 policy's inference path, by distillation from the float policy.

Steps (eager-mode ``torch.ao``, the same part wrapping as PTSQ in
:mod:`paradox_gym.compression.quantization`):

1. each compressible part is copied and wrapped as ``QuantStub -> part -> DeQuantStub``; ``Linear + ReLU``
   pairs are fused; ``prepare_qat`` inserts fake-quant modules (the backend's default QAT qconfig: int8
   per-channel weights, int8 activations with moving-average min/max observers);
2. the fake-quantized path (the *student*) is fine-tuned for ``qat_steps`` Adam steps (batch
   :data:`QAT_BATCH`, learning rate :data:`QAT_LR`) to reproduce the float path's outputs (the *teacher*:
   logits, Q-values or means; SAC also ``log_std``) on the calibration observations, which come from
   deterministic rollouts of the float agent (the same observations PTSQ calibrates on). The loss is the
   mean squared error of each output divided by that output's variance over the observations (scale-free);
3. ``convert`` turns the fine-tuned path into int8 modules (:func:`quantize_aware`), or its fine-tuned float
   weights are written back into the float policy (:func:`finetune_float`, for runtimes that quantize the
   exported graph themselves: ONNX Runtime).

Why distillation and not RL fine-tuning: it needs no rewards, critic, replay buffer or algorithm-specific
loss, so one code path serves PPO, A2C, SAC, TD3, DDPG and DQN; its target (the float policy's own outputs
on its own state distribution) is exactly what quantization must preserve; and it is cheap and
deterministic (fixed seed, one torch thread while training), so a saved QAT agent is rebuilt bit for bit
by re-applying its recipe. See docs/compression.md.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from paradox_gym.compression.cores import make_core, preprocess
from paradox_gym.compression.inference_path import compressible_parts, get_attr_path, parts_of, set_attr_path
from paradox_gym.compression.quantization import StaticQuantPart, _fuse_pairs, quantized_engine, quiet_torch_ao
from paradox_gym.errors import UserInputError
from paradox_gym.limits import MAX_QAT_SECONDS, QAT_STEP_FIXED_PARAMETERS

DEFAULT_QAT_STEPS = 200
QAT_BATCH = 64
QAT_LR = 1e-4
_EPS = 1e-8
#: The clock of the wall-clock guard (a test replaces it with a fake one).
_clock = time.perf_counter


def qat_work(steps: int, parameters: int) -> int:
    """The fine-tuning work of ``steps`` steps of a network of ``parameters`` inference parameters, in the
    units of ``MAX_QAT_WORK``: each step costs its parameters plus a fixed ``QAT_STEP_FIXED_PARAMETERS``."""
    return steps * (parameters + QAT_STEP_FIXED_PARAMETERS)


def _prepare_part(module: nn.Module, backend: str) -> StaticQuantPart:
    """A fake-quantized copy of one part (``module`` itself is not modified)."""
    body = copy.deepcopy(module)
    body.train()
    pairs = _fuse_pairs(body)
    if pairs:
        torch.ao.quantization.fuse_modules_qat(body, pairs, inplace=True)
    wrapper = StaticQuantPart(body)
    wrapper.qconfig = torch.ao.quantization.get_default_qat_qconfig(backend)
    wrapper.train()
    torch.ao.quantization.prepare_qat(wrapper, inplace=True)
    return wrapper


def qat_finetune(policy: Any, algo: str, calibration: np.ndarray, steps: int, seed: int,
                 backend: str) -> tuple[dict[str, StaticQuantPart], dict[str, Any]]:
    """Fine-tune fake-quantized copies of ``policy``'s compressible parts by distillation (``policy`` is
    the float teacher and is not modified).

    Returns ``(part name -> prepared QAT wrapper in train mode, cost)``; ``cost`` holds ``steps``,
    ``batch``, ``samples`` (distillation observations), ``seconds`` (wall time of the fine-tuning),
    ``loss_before`` and ``loss_after`` (the scale-free distillation loss of the fake-quantized path over all
    observations, before and after fine-tuning). Observers see every observation once first, update during
    the first half of the steps and are frozen for the second half. Past ``MAX_QAT_SECONDS`` of wall time
    the fine-tuning stops with a UserInputError naming the steps done (a bound whatever the machine's load).
    """
    if calibration is None or len(calibration) == 0:
        raise UserInputError("method 'qat' needs calibration observations (rollouts of the float agent)")
    x = torch.from_numpy(np.ascontiguousarray(preprocess(calibration, policy.observation_space)[0]))
    started = _clock()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same float reductions on every run, so reloading is exact
    try:
        with quiet_torch_ao(), quantized_engine(backend), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            teacher = make_core(policy, algo)
            with torch.no_grad():
                targets = [t.detach() for t in teacher.outputs(x)]
            scales = [t.var() + _EPS for t in targets]
            wrappers = {p.name: _prepare_part(get_attr_path(policy, p.path), backend)
                        for p in compressible_parts(algo, policy)}
            student = make_core(policy, algo, {**parts_of(policy, algo), **wrappers})
            student.train()

            def loss_of(index: torch.Tensor | slice) -> torch.Tensor:
                outputs = student.outputs(x[index])
                return sum(nn.functional.mse_loss(o, t[index]) / s  # type: ignore[return-value]
                           for o, t, s in zip(outputs, targets, scales))

            with torch.no_grad():
                loss_of(slice(None))  # observers see every observation once (as PTSQ calibration does)
                student.apply(torch.ao.quantization.disable_observer)
                loss_before = float(loss_of(slice(None)))
                student.apply(torch.ao.quantization.enable_observer)
            optimizer = torch.optim.Adam([p for w in wrappers.values() for p in w.parameters()], lr=QAT_LR)
            generator = torch.Generator().manual_seed(seed)
            for step in range(steps):
                if _clock() - started > MAX_QAT_SECONDS:
                    raise UserInputError(
                        f"QAT fine-tuning stopped after {step} of {steps} steps: it ran past its "
                        f"{MAX_QAT_SECONDS:g} s limit (MAX_QAT_SECONDS) on this machine; ask for fewer steps "
                        "or run on a less loaded machine")
                if step == steps // 2:  # second half: ranges frozen, weights adapt to them
                    student.apply(torch.ao.quantization.disable_observer)
                index = torch.randint(0, x.shape[0], (min(QAT_BATCH, x.shape[0]),), generator=generator)
                loss = loss_of(index)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            student.apply(torch.ao.quantization.disable_observer)
            with torch.no_grad():
                loss_after = float(loss_of(slice(None)))
    finally:
        torch.set_num_threads(previous_threads)
    cost = {
        "steps": steps,
        "batch": QAT_BATCH,
        "samples": int(x.shape[0]),
        "seconds": _clock() - started,
        "loss_before": loss_before,
        "loss_after": loss_after,
    }
    return wrappers, cost


def quantize_aware(policy: Any, algo: str, calibration: np.ndarray, steps: int, seed: int,
                   backend: str) -> dict[str, Any]:
    """QAT in place: fine-tune (:func:`qat_finetune`) then ``convert`` each part to int8 and install it in
    ``policy``; returns the fine-tuning cost."""
    wrappers, cost = qat_finetune(policy, algo, calibration, steps, seed, backend)
    with quiet_torch_ao(), quantized_engine(backend):
        for part in compressible_parts(algo, policy):
            wrapper = wrappers[part.name]
            wrapper.eval()
            torch.ao.quantization.convert(wrapper, inplace=True)
            set_attr_path(policy, part.path, wrapper)
    return cost


def finetune_float(policy: Any, algo: str, calibration: np.ndarray, steps: int, seed: int,
                   backend: str) -> dict[str, Any]:
    """QAT fine-tuning whose float weights are copied back into ``policy``'s own ``nn.Linear`` layers (the
    architecture stays float; a runtime then quantizes it, e.g. ONNX Runtime's static quantizer);
    returns the fine-tuning cost."""
    wrappers, cost = qat_finetune(policy, algo, calibration, steps, seed, backend)
    with torch.no_grad():
        for part in compressible_parts(algo, policy):
            original = get_attr_path(policy, part.path)
            body = wrappers[part.name].body
            pairs = ([("", original, body)] if isinstance(original, nn.Linear) else
                     [(name, child, body._modules[name]) for name, child in original.named_children()
                      if isinstance(child, nn.Linear)])
            for _, target, trained in pairs:
                target.weight.copy_(trained.weight)
                if target.bias is not None:
                    target.bias.copy_(trained.bias)
    return cost
