"""The one training loop (Accelerate): AdamW, warmup then cosine decay, gradient clipping, bf16 autocast
where the hardware has it, early stopping on validation macro-F1, per-epoch checkpoints for resume.

Modality-agnostic: it sees a model that maps a batch to logits, data loaders of (inputs, labels) and
parameter groups. Runs unchanged on one CPU, several GPUs, or `torchrun`/`accelerate launch` processes.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn

from tladvisor.advice.hardware import has_native_bf16

ProgressFn = Callable[[dict[str, Any]], None]


def cpu_has_fast_bf16() -> bool:
    """True when this CPU has native bf16 matmul units (AMX or AVX512-BF16)."""
    return has_native_bf16()


def detected_compute() -> str:
    """The compute kind a run here uses, in the estimate's terms: 'single_gpu' with CUDA, else 'cpu'."""
    return "single_gpu" if torch.cuda.is_available() else "cpu"


def resolve_precision(precision: str) -> str:
    """'auto' -> bf16 where the hardware runs it natively (CUDA with bf16, AMX/AVX512-BF16 CPUs), else fp32."""
    if precision != "auto":
        return precision
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


def make_accelerator(precision: str):
    """An Accelerator for this process (single process, DDP under torchrun, ...)."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    mixed = "bf16" if resolve_precision(precision) == "bf16" else "no"
    # Accelerate keeps one process-wide state and refuses a second Accelerator with another precision; the app
    # and the CLI's Python API run several trainings in one process (bf16 then fp32, ...), so drop the old
    # precision state (the process group, PartialState, is kept: torchrun runs stay joined).
    if AcceleratorState._shared_state and AcceleratorState._shared_state.get("_mixed_precision") != mixed:
        AcceleratorState._reset_state()
    # cpu=True when there is no GPU: that is what makes Accelerate join a torchrun group over gloo on CPUs
    return Accelerator(mixed_precision=mixed, cpu=not torch.cuda.is_available())


def seed_everything(seed: int) -> None:
    from accelerate.utils import set_seed

    set_seed(seed)


@dataclass
class FitResult:
    best_state: dict[str, torch.Tensor]
    best_val: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    epochs_run: int = 0
    train_examples_per_s: float = 0.0
    stopped_by_budget: bool = False
    cut_at_step: Optional[str] = None  # "236 of 289": the budget stopped the last epoch mid-way


@torch.no_grad()
def predict_logits(model: nn.Module, loader, accelerator) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, labels) over a prepared loader, gathered across processes."""
    model.eval()
    probs, labels = [], []
    for inputs, y in loader:
        with accelerator.autocast():
            logits = model(inputs)
        p, y = accelerator.gather_for_metrics((logits.float().softmax(-1), y))
        probs.append(p.cpu())
        labels.append(y.cpu())
    return torch.cat(probs).numpy(), torch.cat(labels).numpy()


def _val_metrics(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    pred = probs.argmax(1)
    picked = probs[np.arange(len(labels)), labels] if len(labels) else np.ones(1)
    return {"val_accuracy": float(accuracy_score(labels, pred)),
            "val_macro_f1": float(f1_score(labels, pred, average="macro", zero_division=0)),
            "val_loss": float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())}  # smooth where macro-F1 moves in steps


def classification_val_metrics(model: nn.Module, loader, accelerator) -> dict[str, float]:
    """Validation accuracy and macro-F1 of a classifier over a prepared loader."""
    return _val_metrics(*predict_logits(model, loader, accelerator))


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Cross-entropy on class indices or soft targets (MixUp), optionally class-weighted."""
    return nn.functional.cross_entropy(logits.float(), target, weight=weight)


def fit(model: nn.Module, param_groups: list[dict[str, Any]], train_loader, val_loader: Optional[Any], *, accelerator,
        epochs: int, warmup_ratio: float, weight_decay: float, patience: int, stage: str,
        checkpoint: Optional[Path] = None, progress: Optional[ProgressFn] = None, grad_clip: float = 1.0,
        train_mode: Optional[Callable[[nn.Module], None]] = None,
        batch_transform: Optional[Callable[[Any, torch.Tensor], tuple[Any, torch.Tensor]]] = None,
        log: Optional[Callable[[dict[str, Any]], None]] = None,
        rewind_log: Optional[Callable[[str, int], None]] = None,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = cross_entropy,
        val_fn: Callable[[nn.Module, Any, Any], dict[str, float]] = classification_val_metrics,
        score_key: str = "val_macro_f1", deadline: Optional[float] = None) -> FitResult:
    """Train `model` on the parameters in `param_groups`; keep the state with the best validation score
    (`score_key` of what `val_fn(model, val_loader, accelerator)` returns: macro-F1 for classifiers, entity F1 for
    token classification).

    `train_mode(model)` sets train/eval per sub-module (e.g. frozen BatchNorm statistics);
    `batch_transform(inputs, labels)` may mix a training batch (MixUp) and return soft targets.
    Without `val_loader` it runs all `epochs` (no early stopping) and keeps the last state.
    With `checkpoint`, each epoch is saved there and a later call resumes after the last saved epoch;
    `rewind_log(stage, epochs_done)` is then called first so that `log` can forget epochs logged but never saved.
    `deadline` (a `time.perf_counter()` value): no epoch starts that would, at the last epoch's pace, end after it,
    and in a single process an epoch still running at the deadline (the first one, which has no pace yet, or one
    slower than the last) stops there, is validated and competes like a full one.
    """
    from transformers import get_cosine_schedule_with_warmup

    optimizer = torch.optim.AdamW(param_groups, weight_decay=weight_decay)
    # counted on the unsharded loader: Accelerate steps a prepared scheduler once per process per step
    total_steps = max(1, len(train_loader) * epochs)
    scheduler = get_cosine_schedule_with_warmup(optimizer, int(round(warmup_ratio * total_steps)), total_steps)
    model, optimizer, train_loader, val_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, val_loader, scheduler)
    unwrapped = accelerator.unwrap_model(model)
    start_epoch, history, bad_epochs = 0, [], 0
    best_val: dict[str, Any] = {score_key: -1.0}
    best_state = copy.deepcopy(unwrapped.state_dict())
    if checkpoint and checkpoint.exists():
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
        unwrapped.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        start_epoch, history, bad_epochs = ckpt["epoch"] + 1, ckpt["history"], ckpt["bad_epochs"]
        best_val, best_state = ckpt["best_val"], ckpt["best_state"]
        torch.set_rng_state(ckpt["rng"])
        if progress:
            progress({"stage": stage, "event": "resumed", "epoch": start_epoch})
    if rewind_log and accelerator.is_main_process:
        rewind_log(stage, start_epoch)
    seen, t_train, last_epoch_s, stopped_by_budget = 0, 0.0, 0.0, False
    partial: Optional[str] = None  # "N of M" steps when the deadline stopped an epoch mid-way
    for epoch in range(start_epoch, epochs):
        if bad_epochs >= patience:
            break
        if deadline is not None and last_epoch_s and time.perf_counter() + last_epoch_s > deadline:
            stopped_by_budget = True  # the best state so far is kept, as after early stopping
            if progress:
                progress({"stage": stage, "event": "budget", "epoch": epoch})
            break
        t_epoch = time.perf_counter()
        (train_mode or (lambda m: m.train()))(model)
        t0, losses = time.perf_counter(), []
        for step, (inputs, y) in enumerate(train_loader):
            target = y
            if batch_transform is not None:
                inputs, target = batch_transform(inputs, y)
            logits = model(inputs)
            loss = loss_fn(logits, target)
            accelerator.backward(loss)
            if grad_clip:
                accelerator.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            seen += y.shape[0] * accelerator.num_processes
            if progress:
                progress({"stage": stage, "event": "step", "epoch": epoch + 1, "epochs": epochs,
                          "step": step + 1, "steps": len(train_loader), "loss": losses[-1]})
            # one process only: several would have to agree on the step to stop at
            if (deadline is not None and accelerator.num_processes == 1 and step + 1 < len(train_loader)
                    and time.perf_counter() > deadline):
                stopped_by_budget, partial = True, f"{step + 1} of {len(train_loader)}"
                break
        t_train += time.perf_counter() - t0
        record = {"stage": stage, "epoch": epoch + 1, "train_loss": float(np.mean(losses)) if losses else float("nan"),
                  "lr": scheduler.get_last_lr()[0], "epoch_s": round(time.perf_counter() - t0, 2)}
        if partial:
            record["steps_run"] = f"{partial} (time budget)"
        if val_loader is not None:
            record.update(val_fn(model, val_loader, accelerator))
            improved = record[score_key] > best_val[score_key]
            if record[score_key] >= best_val[score_key]:  # on a tie, the longer-trained state wins
                best_val = {k: v for k, v in record.items() if k.startswith("val_")}
                best_state = copy.deepcopy(unwrapped.state_dict())
            bad_epochs = 0 if improved else bad_epochs + 1
        history.append(record)
        last_epoch_s = time.perf_counter() - t_epoch  # training and validation: what the next epoch will cost
        if log and accelerator.is_main_process:
            log(record)
        if progress:
            progress({"event": "epoch", **record})
        if checkpoint and accelerator.is_main_process:
            from tladvisor.training.rundir import atomic_torch_save

            atomic_torch_save(checkpoint, {"epoch": epoch, "model": unwrapped.state_dict(),
                                           "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                                           "history": history, "bad_epochs": bad_epochs, "best_val": best_val,
                                           "best_state": best_state, "rng": torch.get_rng_state()})
        accelerator.wait_for_everyone()
        if partial:  # the budget ended this epoch: no further one
            if progress:
                progress({"stage": stage, "event": "budget", "epoch": epoch + 1})
            break
    if val_loader is None:  # a fixed schedule: the last state is the result
        best_state, best_val = copy.deepcopy(unwrapped.state_dict()), {}
    unwrapped.load_state_dict(best_state)
    return FitResult(best_state=best_state, best_val=best_val, history=history, epochs_run=len(history),
                     train_examples_per_s=seen / t_train if t_train else 0.0, stopped_by_budget=stopped_by_budget,
                     cut_at_step=partial)
