"""``Optimizer``: parameter groups, per-parameter state and its (de)serialisation.

Subclasses implement :meth:`Optimizer._update`, which changes ``p.data`` in place with array
operations (NumPy or CuPy, whichever holds the data) and no tape. The base class runs it under
:class:`~tapegrad.no_grad`, skips parameters without a gradient, and bumps each updated
parameter's version counter, so a backward through values saved before the step raises.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from ..backend import namespace
from ..creation import as_tensor
from ..nn._util import assign_, mark_modified
from ..tape import enable_grad, no_grad
from ..tensor import Tensor

__all__ = ["Optimizer"]

ParamGroup = dict[str, Any]


def _type_name(value: Any) -> str:
    return value.type() if isinstance(value, Tensor) else type(value).__name__


class Optimizer:
    """Base class of the optimisers.

    Parameters
    ----------
    params : iterable
        Tensors to optimise, or dicts (parameter groups) with a ``"params"`` entry and
        per-group settings that override ``defaults``.
    defaults : dict
        Default settings of every group (``lr``, ...).

    Attributes
    ----------
    param_groups : list of dict
        The groups, each with its ``"params"`` list and its settings (change ``lr`` here).
    state : dict
        Per-parameter state (momentum buffers, moment estimates, step counts), keyed by the
        parameter.

    Examples
    --------
    >>> w = tg.nn.Parameter(tg.tensor([1.0, -2.0]))
    >>> opt = tg.optim.SGD([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    >>> opt.zero_grad()
    >>> w.grad is None
    True
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[ParamGroup] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {_type_name(params)}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own settings (missing ones take the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list "
                "instead."
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {_type_name(p)}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = {"params": params}
        for key, default in self.defaults.items():
            group[key] = param_group.get(key, default)
        for key, value in param_group.items():
            group.setdefault(key, value)
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error",
                UserWarning,
                stacklevel=3,
            )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ------------------------------------------------------------------ stepping

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (the default), else to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g.detach_()
                    g.requires_grad_(False)
                    assign_(g, 0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` when given.

        ``closure`` re-evaluates the model and returns the loss (it runs with grad enabled).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    grad = p.grad
                    if grad is None:
                        continue
                    state = self.state[p]
                    self._update(p, grad.data, state, group)
                    mark_modified(p)
                    if not state:  # stateless rules (plain SGD) keep no entry, as in PyTorch
                        del self.state[p]
        return loss

    def _update(self, p: Tensor, grad: Any, state: dict[str, Any], group: ParamGroup) -> None:
        """Change ``p.data`` in place given its gradient array, state and group settings."""
        raise NotImplementedError

    # ------------------------------------------------------------------ state dict

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state: ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are named by their index across all groups (in order), so the dict can be
        loaded into a new optimiser built over the same model. Tensors in it are references to
        the live state.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore state saved by :meth:`state_dict` (possibly after :func:`tapegrad.save` /
        :func:`tapegrad.load`). State tensors are copied, cast to each parameter's dtype and
        device (the ``step`` count keeps its own)."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(
            len(g["params"]) != len(s["params"])
            for g, s in zip(self.param_groups, saved_groups, strict=True)
        ):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        params = {
            int(i): p
            for i, p in zip(
                chain.from_iterable(s["params"] for s in saved_groups),
                chain.from_iterable(g["params"] for g in self.param_groups),
                strict=True,
            )
        }
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for key, values in state_dict["state"].items():
            p = params.get(int(key))
            if p is None:
                continue
            state[p] = {name: _cast_state(p, name, v) for name, v in values.items()}
        groups = []
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            new = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            if isinstance(new.get("betas"), list):
                new["betas"] = tuple(new["betas"])
            new["params"] = group["params"]
            groups.append(new)
        self.state = state
        self.param_groups = groups

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"


def _cast_state(p: Tensor, name: str, value: Any) -> Any:
    """A copy of a loaded state value on ``p``'s device (and in its dtype, except ``step``)."""
    if not isinstance(value, Tensor) and not hasattr(value, "shape"):
        return copy.deepcopy(value)
    raw = value.data if isinstance(value, Tensor) else value
    xp = namespace(p.data)
    dtype = raw.dtype if name == "step" else p.data.dtype
    return as_tensor(xp.array(raw, dtype=dtype, copy=True))
