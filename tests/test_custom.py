"""User-defined derivative rules: ``custom_vjp``, ``custom_jvp``, ``tg.autograd.Function``, and
``checkpoint`` (recompute instead of store). Each must give the same derivatives through the
facade, every transform, ``vmap`` and higher order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ops import elementwise as ew
from tapegrad.ops import linalg as la
from tapegrad.ops import reduce as rd
from tapegrad.tape import SAVED, current_tape

# ------------------------------------------------------------------------------ custom_vjp


@tg.custom_vjp
def clip_gradient(lo: float, hi: float, x: Any) -> Any:
    return x


def _clip_fwd(lo: float, hi: float, x: Any) -> Any:
    return x, None


def _clip_bwd(lo: float, hi: float, res: Any, g: Any) -> Any:
    return (ew.maximum(ew.minimum(g, hi), lo),)


clip_gradient_nd = tg.custom_vjp(lambda lo, hi, x: x, nondiff_argnums=(0, 1))
clip_gradient_nd.defvjp(_clip_fwd, _clip_bwd)


def test_custom_vjp_rule_replaces_the_derivative() -> None:
    g = tg.grad(lambda x: rd.sum(clip_gradient_nd(-1.0, 1.0, x) * 10.0))(np.ones(3))
    np.testing.assert_allclose(g, np.ones(3))
    # The forward value is the function's.
    np.testing.assert_allclose(clip_gradient_nd(-1.0, 1.0, np.arange(3.0)), np.arange(3.0))


@tg.custom_vjp
def sin_times(x: Any, y: Any) -> Any:
    return ew.sin(x) * y


def _st_fwd(x: Any, y: Any) -> Any:
    return ew.sin(x) * y, (ew.cos(x), ew.sin(x), y)


def _st_bwd(res: Any, g: Any) -> Any:
    cos_x, sin_x, y = res
    return cos_x * y * g, sin_x * g


sin_times.defvjp(_st_fwd, _st_bwd)


def _plain(x: Any, y: Any) -> Any:
    return ew.sin(x) * y


def test_custom_vjp_through_every_transform() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    for nums in (0, 1, (0, 1)):
        got = tg.grad(lambda a, b: rd.sum(sin_times(a, b)), argnums=nums)(x, y)
        ref = tg.grad(lambda a, b: rd.sum(_plain(a, b)), argnums=nums)(x, y)
        np.testing.assert_allclose(got, ref, rtol=1e-12)
    np.testing.assert_allclose(tg.jacrev(sin_times)(x, y), np.diag(np.cos(x) * y), rtol=1e-12)
    # Second order: the residuals depend on x, so the bwd rule is differentiated through.
    h = tg.jacrev(tg.grad(lambda a: rd.sum(sin_times(a, y))))(x)
    np.testing.assert_allclose(h, np.diag(-np.sin(x) * y), rtol=1e-12, atol=1e-15)
    gg = tg.grad(tg.grad(lambda a: sin_times(a, 2.0)))(0.3)
    assert float(gg) == pytest.approx(-2 * np.sin(0.3), rel=1e-12)
    # vmap, and per-example gradients.
    xs, ys = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(tg.vmap(sin_times)(xs, ys), np.sin(xs) * ys, rtol=1e-12)
    per = tg.vmap(tg.grad(lambda a, b: rd.sum(sin_times(a, b))), in_axes=(0, None))(xs, y)
    np.testing.assert_allclose(per, np.cos(xs) * y, rtol=1e-12)
    per = tg.vmap(tg.grad(lambda a, b: rd.sum(sin_times(a, b)), argnums=1), in_axes=(None, 0))(
        x, ys
    )
    np.testing.assert_allclose(per, np.broadcast_to(np.sin(x), (4, 3)), rtol=1e-12)
    # grad of a function that vmaps the custom function.
    g = tg.grad(lambda a: rd.sum(tg.vmap(sin_times, in_axes=(None, 0))(a, ys)))(x)
    np.testing.assert_allclose(g, np.cos(x) * ys.sum(0), rtol=1e-12)


def test_custom_vjp_uses_its_rule_under_vmap() -> None:
    per = tg.vmap(tg.grad(lambda x: rd.sum(clip_gradient_nd(-1.0, 1.0, x) * 10.0)))(np.ones((3, 2)))
    np.testing.assert_allclose(per, np.ones((3, 2)))


def test_custom_vjp_with_the_facade() -> None:
    x = tg.tensor([0.5, 1.0], dtype=tg.float64, requires_grad=True)
    y = tg.tensor([2.0, -1.0], dtype=tg.float64)
    out = sin_times(x, y)
    assert isinstance(out, tg.Tensor) and out.requires_grad
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.5, 1.0]) * np.array([2.0, -1.0]))


def test_custom_vjp_pytrees() -> None:
    @tg.custom_vjp
    def f(p: dict[str, Any]) -> Any:
        return {"a": p["w"] * 2.0, "b": rd.sum(p["w"])}

    f.defvjp(lambda p: (f(p), None), lambda res, g: ({"w": g["a"] * 2.0 + g["b"]},))
    w = np.arange(3.0)
    g = tg.grad(lambda p: rd.sum(f(p)["a"]) + f(p)["b"])({"w": w})
    np.testing.assert_allclose(g["w"], np.full(3, 3.0))


def test_custom_vjp_refuses_forward_mode_and_bad_cotangents() -> None:
    with pytest.raises(TypeError, match="forward-mode"):
        tg.jvp(lambda x: sin_times(x, 1.0), (np.ones(2),), (np.ones(2),))

    @tg.custom_vjp
    def bad(x: Any) -> Any:
        return x * 1.0

    bad.defvjp(lambda x: (x * 1.0, None), lambda res, g: (rd.sum(g),))
    with pytest.raises(ValueError, match=r"\(\).*\(3,\)"):
        tg.grad(lambda x: rd.sum(bad(x)))(np.ones(3))


# ------------------------------------------------------------------------------ custom_jvp


@tg.custom_jvp
def log1pexp(x: Any) -> Any:
    return ew.log(1.0 + ew.exp(x))


@log1pexp.defjvp
def _log1pexp_jvp(primals: Any, tangents: Any) -> Any:
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * ew.sigmoid(x)


def test_custom_jvp_gives_stable_derivatives() -> None:
    # exp(1000) overflows: the plain derivative exp(x) / (1 + exp(x)) is nan there.
    x = np.array([-3.0, 0.0, 1000.0])
    with np.errstate(over="ignore", invalid="ignore"):
        g = tg.grad(lambda x: rd.sum(log1pexp(x)))(x)
        _, t = tg.jvp(log1pexp, (x,), (np.ones(3),))
    s = 1 / (1 + np.exp(-np.array([-3.0, 0.0, 30.0])))
    s[2] = 1.0
    np.testing.assert_allclose(g, s, rtol=1e-12)
    np.testing.assert_allclose(t, s, rtol=1e-12)


def test_custom_jvp_through_every_transform() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(4)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(tg.jacrev(log1pexp)(x), np.diag(s), rtol=1e-12)
    np.testing.assert_allclose(tg.jacfwd(log1pexp)(x), np.diag(s), rtol=1e-12)
    h = np.diag(s * (1 - s))
    f = lambda x: rd.sum(log1pexp(x))  # noqa: E731
    for hess in (tg.hessian(f), tg.jacrev(tg.grad(f)), tg.jacfwd(tg.jacfwd(f))):
        np.testing.assert_allclose(hess(x), h, rtol=1e-12, atol=1e-15)
    xs = rng.standard_normal((3, 4))
    np.testing.assert_allclose(tg.vmap(tg.grad(f))(xs), 1 / (1 + np.exp(-xs)), rtol=1e-12)
    np.testing.assert_allclose(tg.vmap(log1pexp)(xs), np.log1p(np.exp(xs)), rtol=1e-12)


def test_custom_jvp_with_several_arguments_and_defjvps() -> None:
    @tg.custom_jvp
    def f(x: Any, y: Any) -> Any:
        return x * y

    f.defjvps(lambda tx, out, x, y: tx * y * 3.0, lambda ty, out, x, y: ty * x)
    gx, gy = tg.grad(lambda x, y: rd.sum(f(x, y)), argnums=(0, 1))(np.ones(2), np.full(2, 2.0))
    np.testing.assert_allclose(gx, np.full(2, 6.0))
    np.testing.assert_allclose(gy, np.ones(2))


# ------------------------------------------------------------------------------ Function


class Cube(tg.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * 3 * x**2

    @staticmethod
    def jvp(ctx: Any, t: Any) -> Any:
        (x,) = ctx.saved_tensors
        return t * 3 * x**2


class ScaledMul(tg.autograd.Function):
    """Two outputs, a non-tensor argument, and an input that needs no gradient."""

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, scale: float) -> Any:
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return a * b * scale, a + b

    @staticmethod
    def backward(ctx: Any, g_prod: Any, g_sum: Any) -> Any:
        a, b = ctx.saved_tensors
        ga = g_prod * b * ctx.scale + g_sum if ctx.needs_input_grad[0] else None
        gb = g_prod * a * ctx.scale + g_sum if ctx.needs_input_grad[1] else None
        return ga, gb, None


def test_function_in_the_facade() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x)
    assert type(y.grad_fn).__name__ == "CubeBackward" and y.grad_fn.name() == "CubeBackward"
    assert y.grad_fn.next_functions[0][0].variable is x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    (g,) = tg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (gg,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [6.0, 12.0])
    # Without an input that requires grad nothing is recorded.
    z = Cube.apply(tg.tensor([2.0]))
    assert z.grad_fn is None and not z.requires_grad


def test_function_with_two_outputs_and_non_tensor_arguments() -> None:
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0])
    prod, total = ScaledMul.apply(a, b, 2.0)
    assert prod.grad_fn.name() == total.grad_fn.name() == "ScaledMulBackward"
    (prod.sum() + 10 * total.sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), [3.0 * 2 + 10, 4.0 * 2 + 10])
    assert b.grad is None


def test_function_through_transforms() -> None:
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(tg.grad(lambda x: rd.sum(Cube.apply(x)))(x), 3 * x**2)
    np.testing.assert_allclose(tg.jacrev(Cube.apply)(x), np.diag(3 * x**2))
    np.testing.assert_allclose(tg.jacfwd(Cube.apply)(x), np.diag(3 * x**2))
    np.testing.assert_allclose(tg.hessian(lambda x: rd.sum(Cube.apply(x)))(x), np.diag(6 * x))
    _, t = tg.jvp(Cube.apply, (x,), (np.ones(2),))
    np.testing.assert_allclose(t, 3 * x**2)


def test_function_errors() -> None:
    class WrongCount(tg.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: Any, b: Any) -> Any:
            return a * b

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g

    a = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        WrongCount.apply(a, a).sum().backward()

    class NoVmap(tg.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: Any) -> Any:
            return a * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 2

    with pytest.raises(NotImplementedError, match="NoVmap"):
        tg.vmap(NoVmap.apply)(np.ones((2, 3)))
    with pytest.raises(NotImplementedError, match="jvp"):
        tg.jvp(NoVmap.apply, (np.ones(2),), (np.ones(2),))


def test_function_under_vmap_with_generate_vmap_rule() -> None:
    class Square(tg.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            return 2 * g * x

    xs = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(tg.vmap(Square.apply)(xs), xs**2)
    per = tg.vmap(tg.grad(lambda x: rd.sum(Square.apply(x))))(xs)
    np.testing.assert_allclose(per, 2 * xs)


# ------------------------------------------------------------------------------ checkpoint


def _saved_bytes() -> int:
    total = 0
    for e in current_tape().entries:
        if e is None or e[SAVED] is None:
            continue
        for s in e[SAVED]:
            for a in s if isinstance(s, tuple) else (s,):
                total += getattr(a, "nbytes", 0) if not isinstance(a, tg.Tensor) else 0
    return total


def _block(x: Any) -> Any:
    for _ in range(6):
        x = ew.tanh(x * 1.5 + 0.1) * ew.sigmoid(x)
    return x


def test_checkpoint_gives_identical_gradients_with_fewer_residuals() -> None:
    x = tg.tensor(np.linspace(-1, 1, 2000), requires_grad=True)
    before = _saved_bytes()
    y = _block(x).sum()
    plain = _saved_bytes() - before
    y.backward()
    g_plain = x.grad.numpy().copy()
    x.grad = None
    del y
    before = _saved_bytes()
    y = tg.checkpoint(_block)(x).sum()
    ckpt = _saved_bytes() - before
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), g_plain)
    # Only the input (and the sum's nothing) is kept, not the block's intermediates.
    assert ckpt == x.data.nbytes
    assert plain >= 10 * ckpt
    assert y.grad_fn.next_functions[0][0].name() == "CheckpointFunctionBackward"


def test_checkpoint_with_closed_over_parameters() -> None:
    rng = np.random.default_rng(2)
    w = tg.tensor(rng.standard_normal((4, 4)), requires_grad=True)
    v = tg.tensor(rng.standard_normal(4), requires_grad=True)

    def layer(h: Any) -> Any:
        return (w @ h).tanh()

    layer(layer(v)).sum().backward()
    gw, gv = w.grad.numpy().copy(), v.grad.numpy().copy()
    w.grad = None
    v.grad = None
    tg.checkpoint(layer)(tg.checkpoint(layer)(v)).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), gw, rtol=1e-12)
    np.testing.assert_allclose(v.grad.numpy(), gv, rtol=1e-12)


def test_checkpoint_under_transforms() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(5)

    def f(x: Any) -> Any:
        return rd.sum(tg.checkpoint(_block)(x) ** 2)

    def g(x: Any) -> Any:
        return rd.sum(_block(x) ** 2)

    np.testing.assert_allclose(tg.grad(f)(x), tg.grad(g)(x), rtol=1e-12)
    np.testing.assert_allclose(tg.hessian(f)(x), tg.hessian(g)(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tg.jacrev(tg.grad(f))(x), tg.hessian(g)(x), rtol=1e-10, atol=1e-12)
    xs = rng.standard_normal((3, 5))
    np.testing.assert_allclose(tg.vmap(tg.grad(f))(xs), tg.vmap(tg.grad(g))(xs), rtol=1e-12)
    np.testing.assert_allclose(
        tg.grad(lambda x: rd.sum(tg.vmap(f)(x)))(xs), tg.vmap(tg.grad(g))(xs), rtol=1e-12
    )


def test_checkpoint_with_several_inputs_and_outputs() -> None:
    @tg.checkpoint
    def f(a: Any, b: Any) -> Any:
        return {"p": ew.sin(a) * b, "q": la.matmul(a, b)}

    a, b = np.array([0.1, 0.2]), np.array([1.0, -1.0])
    ga, gb = tg.grad(lambda a, b: rd.sum(f(a, b)["p"]) + f(a, b)["q"], argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, np.cos(a) * b + b, rtol=1e-12)
    np.testing.assert_allclose(gb, np.sin(a) + a, rtol=1e-12)
