"""optim.py — optimizers bound to one model (sa_optim), and gradient clipping.

    opt = seqattn.Adam(m, lr=3e-3, clip_norm=1.0)
    for xb, yb in batches:
        m.forward(train=True, inputs={x: xb, t: yb})
        m.backward(L)
        opt.step()
        m.zero_grad()          # or opt.zero_grad()

An optimizer keeps its model's memory alive (the C API requires the model to
outlive the optimizer).
"""
import ctypes as C

from . import _lib
from .errors import InvalidArgumentError, StateError, make_error
from .model import Model, check_model

SA_OPTIM_SGD, SA_OPTIM_ADAM = 0, 1


class _OptimHandle:
    __slots__ = ("ptr", "_destroy", "model_handle")

    def __init__(self, ptr, destroy, model_handle):
        # model_handle: keeps the model alive for as long as this optimizer
        self.ptr, self._destroy, self.model_handle = ptr, destroy, model_handle

    def __del__(self):
        if self.ptr:
            self._destroy(self.ptr)
            self.ptr = None


def _float(v, what):
    try:
        return float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number, got {type(v).__name__}") from None


class Optimizer:
    """Base class: an sa_optim over all parameters of a model."""

    def __init__(self, model, desc):
        if not isinstance(model, Model):
            raise TypeError(f"an optimizer needs a seqattn.Model, got {type(model).__name__}")
        lib = _lib.lib()
        self._lib = lib
        self.model = model
        out = C.c_void_p()
        status = lib.sa_optim_create(model._ptr, C.byref(desc), C.byref(out))
        check_model(lib, model._ptr, status)
        self._h = _OptimHandle(out.value, lib.sa_optim_destroy, model._h)
        self._lr = desc.lr

    @property
    def _ptr(self):
        if self._h is None:
            raise StateError("the optimizer was closed")
        if self.model.closed:
            raise StateError("the optimizer's model was closed")
        return self._h.ptr

    def close(self):
        self._h = None

    def step(self):
        """One update from the current gradients (clipping first if asked).
        Does not zero the gradients. NumericError on a non-finite gradient
        (parameters are then left unchanged)."""
        check_model(self._lib, self.model._ptr, self._lib.sa_optim_step(self._ptr))

    def zero_grad(self):
        """Same as model.zero_grad()."""
        self.model.zero_grad()

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        value = _float(value, "lr")
        check_model(self._lib, self.model._ptr, self._lib.sa_optim_set_lr(self._ptr, value))
        self._lr = value


class Adam(Optimizer):
    """torch.optim.Adam numerics (L2 weight decay added to the gradient);
    clip_norm > 0 clips the global gradient norm before each step."""

    def __init__(self, model, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, clip_norm=0.0):
        lib = _lib.lib()
        d = lib.sa_optim_desc_default()
        d.kind = SA_OPTIM_ADAM
        d.lr = _float(lr, "lr")
        if len(betas) != 2:
            raise InvalidArgumentError(f"Adam: betas must be a pair, got {betas!r}")
        d.beta1, d.beta2 = _float(betas[0], "beta1"), _float(betas[1], "beta2")
        d.eps, d.weight_decay = _float(eps, "eps"), _float(weight_decay, "weight_decay")
        d.clip_norm = _float(clip_norm, "clip_norm")
        super().__init__(model, d)
        self.betas, self.eps, self.weight_decay, self.clip_norm = (d.beta1, d.beta2), d.eps, d.weight_decay, d.clip_norm


class SGD(Optimizer):
    """p -= lr * (g + weight_decay * p), with optional heavy-ball momentum."""

    def __init__(self, model, lr, momentum=0.0, weight_decay=0.0, clip_norm=0.0):
        lib = _lib.lib()
        d = lib.sa_optim_desc_default()
        d.kind = SA_OPTIM_SGD
        d.lr, d.momentum = _float(lr, "lr"), _float(momentum, "momentum")
        d.weight_decay, d.clip_norm = _float(weight_decay, "weight_decay"), _float(clip_norm, "clip_norm")
        super().__init__(model, d)
        self.momentum, self.weight_decay, self.clip_norm = d.momentum, d.weight_decay, d.clip_norm


def clip_grad_norm(model, max_norm):
    """Global L2 norm of all parameter gradients; when max_norm > 0 and the
    norm is larger, scales the gradients down to max_norm (torch
    clip_grad_norm_). Returns the norm before clipping. NumericError when the
    norm is not finite (gradients left unchanged)."""
    lib = _lib.lib()
    norm = C.c_float()
    status = lib.sa_clip_grad_norm(model._ptr, _float(max_norm, "max_norm"), C.byref(norm))
    if status != 0:
        err = make_error(status, _lib.decode(lib.sa_last_error()))
        err.norm = norm.value  # the norm before clipping, also when it is not finite
        raise err
    return norm.value
