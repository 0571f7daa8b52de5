"""Tensor text: :func:`tapegrad._repr.tensor_repr` prints exactly what PyTorch 2.13 prints.

The known texts below were each checked against PyTorch once and run without it; the
cross-checks at the end compare with a live PyTorch and are skipped when it is missing.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tapegrad._repr import EDGE_ITEMS, THRESHOLD, format_dtype, tensor_repr

INTEGER_DTYPES = [
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
]
FLOAT_DTYPES = [np.float16, np.float32, np.float64]
COMPLEX_DTYPES = [np.complex64, np.complex128]
DIFFERENTIABLE_DTYPES = FLOAT_DTYPES + COMPLEX_DTYPES
ALL_DTYPES = [np.bool_] + INTEGER_DTYPES + DIFFERENTIABLE_DTYPES

# ---------------------------------------------------------------------------------------------
# Known texts
# ---------------------------------------------------------------------------------------------

KNOWN_TEXTS = [
    pytest.param(
        np.array([1.0, 2.0], dtype=np.float32),
        {"requires_grad": True},
        "tensor([1., 2.], requires_grad=True)",
        id="leaf_requires_grad",
    ),
    pytest.param(
        np.full((2, 2), 3.0, dtype=np.float32),
        {"grad_fn_name": "AddBackward0"},
        "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)",
        id="matrix_grad_fn",
    ),
    pytest.param(
        np.array(27.0, dtype=np.float32),
        {"grad_fn_name": "MeanBackward0"},
        "tensor(27., grad_fn=<MeanBackward0>)",
        id="scalar_grad_fn",
    ),
    pytest.param(
        np.array([1.5, 2.0], dtype=np.float32),
        {},
        "tensor([1.5000, 2.0000])",
        id="fixed",
    ),
    pytest.param(
        np.array([1e-8, 1e10], dtype=np.float32),
        {},
        "tensor([1.0000e-08, 1.0000e+10])",
        id="scientific",
    ),
    pytest.param(
        np.array([1.0, 2.0]),
        {"requires_grad": True},
        "tensor([1., 2.], dtype=tapegrad.float64, requires_grad=True)",
        id="float64_requires_grad",
    ),
    pytest.param(
        np.array([0.5, -2.25]),
        {"requires_grad": True, "grad_fn_name": "MulBackward0"},
        "tensor([ 0.5000, -2.2500], dtype=tapegrad.float64, grad_fn=<MulBackward0>)",
        id="float64_grad_fn_wins",
    ),
    pytest.param(
        np.arange(5),
        {},
        "tensor([0, 1, 2, 3, 4])",
        id="int64",
    ),
    pytest.param(
        np.arange(-2, 3, dtype=np.int32),
        {},
        "tensor([-2, -1,  0,  1,  2], dtype=tapegrad.int32)",
        id="int32",
    ),
    pytest.param(
        np.array([-128, 0, 127], dtype=np.int8),
        {},
        "tensor([-128,    0,  127], dtype=tapegrad.int8)",
        id="int8",
    ),
    pytest.param(
        np.array([0, 7, 255], dtype=np.uint8),
        {},
        "tensor([  0,   7, 255], dtype=tapegrad.uint8)",
        id="uint8",
    ),
    pytest.param(
        np.array(-3, dtype=np.int16),
        {},
        "tensor(-3, dtype=tapegrad.int16)",
        id="int16_scalar",
    ),
    pytest.param(
        np.array([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max]),
        {},
        "tensor([-9223372036854775808,                    0,  9223372036854775807])",
        id="int64_extremes",
    ),
    pytest.param(
        np.array([True, False]),
        {},
        "tensor([ True, False])",
        id="bool",
    ),
    pytest.param(
        np.array(True),
        {},
        "tensor(True)",
        id="bool_scalar",
    ),
    pytest.param(
        np.array([[True, False, True], [False, False, True]]),
        {},
        "tensor([[ True, False,  True],\n        [False, False,  True]])",
        id="bool_matrix",
    ),
    pytest.param(
        np.array([np.nan, np.inf, -np.inf, 1.5], dtype=np.float32),
        {},
        "tensor([   nan,    inf,   -inf, 1.5000])",
        id="nonfinite_mixed",
    ),
    pytest.param(
        np.array([np.nan, np.inf, 0.0], dtype=np.float32),
        {},
        "tensor([nan, inf, 0.])",
        id="nonfinite_only",
    ),
    pytest.param(
        np.array([1.0, np.nan, -np.inf, 20.0], dtype=np.float32),
        {},
        "tensor([ 1., nan, -inf, 20.])",
        id="nonfinite_integral",
    ),
    pytest.param(
        np.array([1e-9, np.nan, -np.inf, 2.0], dtype=np.float32),
        {},
        "tensor([1.0000e-09,        nan,       -inf, 2.0000e+00])",
        id="nonfinite_scientific",
    ),
    pytest.param(
        np.array(np.nan, dtype=np.float32),
        {},
        "tensor(nan)",
        id="scalar_nan",
    ),
    pytest.param(
        np.array(0.0, dtype=np.float32),
        {},
        "tensor(0.)",
        id="scalar_zero",
    ),
    pytest.param(
        np.array([-0.0, 1.0], dtype=np.float32),
        {},
        "tensor([-0., 1.])",
        id="negative_zero_integral",
    ),
    pytest.param(
        np.array([-0.0, 1.5], dtype=np.float32),
        {},
        "tensor([-0.0000, 1.5000])",
        id="negative_zero_fixed",
    ),
    pytest.param(
        np.array(-0.0),
        {},
        "tensor(-0., dtype=tapegrad.float64)",
        id="negative_zero_scalar",
    ),
    pytest.param(
        np.array([100.0, -1000.0, 7.0], dtype=np.float32),
        {},
        "tensor([  100., -1000.,     7.])",
        id="integral_range",
    ),
    pytest.param(
        np.array([1.0, 2000.0], dtype=np.float32),
        {},
        "tensor([1.0000e+00, 2.0000e+03])",
        id="integral_ratio_scientific",
    ),
    pytest.param(
        np.array([1e9, 3e9], dtype=np.float32),
        {},
        "tensor([1.0000e+09, 3.0000e+09])",
        id="large_integral",
    ),
    pytest.param(
        np.array([1e-5, 2e-5], dtype=np.float32),
        {},
        "tensor([1.0000e-05, 2.0000e-05])",
        id="tiny",
    ),
    pytest.param(
        np.array([-1.2345678, 123.456, 0.0], dtype=np.float32),
        {},
        "tensor([ -1.2346, 123.4560,   0.0000])",
        id="mixed_signs",
    ),
    pytest.param(
        np.array([0.00015, 0.99995, 2.5], dtype=np.float64),
        {},
        "tensor([1.5000e-04, 9.9995e-01, 2.5000e+00], dtype=tapegrad.float64)",
        id="rounding",
    ),
    pytest.param(
        np.array([0.1, -2.5, 65504.0], dtype=np.float16),
        {},
        "tensor([ 9.9976e-02, -2.5000e+00,  6.5504e+04], dtype=tapegrad.float16)",
        id="float16",
    ),
    pytest.param(
        np.array(0.333, dtype=np.float16),
        {"requires_grad": True},
        "tensor(0.3330, dtype=tapegrad.float16, requires_grad=True)",
        id="float16_scalar",
    ),
    pytest.param(
        np.array([1 + 2j, -0.5 - 0j, -0j], dtype=np.complex64),
        {},
        "tensor([ 1.0000+2.j, -0.5000+0.j, -0.0000-0.j])",
        id="complex64",
    ),
    pytest.param(
        np.array([1e-6 + 3j, 2e5 - 1j]),
        {},
        "tensor([1.0000e-06+3.j, 2.0000e+05-1.j], dtype=tapegrad.complex128)",
        id="complex128_scientific",
    ),
    pytest.param(
        np.array(1.5 - 2j, dtype=np.complex64),
        {},
        "tensor(1.5000-2.j)",
        id="complex_scalar",
    ),
    pytest.param(
        np.array([complex(np.nan, 1.0), complex(1.0, -np.inf)], dtype=np.complex64),
        {},
        "tensor([nan+1.j, 1.-infj])",
        id="complex_nonfinite",
    ),
    pytest.param(
        (np.arange(6).reshape(2, 3) * (0.5 - 1j)).astype(np.complex64),
        {},
        "tensor([[0.0000+0.j, 0.5000-1.j, 1.0000-2.j],\n"
        "        [1.5000-3.j, 2.0000-4.j, 2.5000-5.j]])",
        id="complex_matrix",
    ),
    pytest.param(
        np.zeros((0,), dtype=np.float32),
        {},
        "tensor([])",
        id="empty_1d",
    ),
    pytest.param(
        np.zeros((0, 3), dtype=np.float32),
        {},
        "tensor([], size=(0, 3))",
        id="empty_2d",
    ),
    pytest.param(
        np.zeros((0,), dtype=np.int64),
        {},
        "tensor([], dtype=tapegrad.int64)",
        id="empty_int64",
    ),
    pytest.param(
        np.zeros((2, 0, 1), dtype=bool),
        {},
        "tensor([], size=(2, 0, 1), dtype=tapegrad.bool)",
        id="empty_bool_3d",
    ),
    pytest.param(
        np.zeros((3, 0)),
        {"requires_grad": True},
        "tensor([], size=(3, 0), dtype=tapegrad.float64, requires_grad=True)",
        id="empty_float64_requires_grad",
    ),
    pytest.param(
        np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        {},
        "tensor([[[ 0.,  1.,  2.,  3.],\n"
        "         [ 4.,  5.,  6.,  7.],\n"
        "         [ 8.,  9., 10., 11.]],\n"
        "\n"
        "        [[12., 13., 14., 15.],\n"
        "         [16., 17., 18., 19.],\n"
        "         [20., 21., 22., 23.]]])",
        id="cube",
    ),
    pytest.param(
        np.arange(16).reshape(2, 2, 2, 2),
        {},
        "tensor([[[[ 0,  1],\n"
        "          [ 2,  3]],\n"
        "\n"
        "         [[ 4,  5],\n"
        "          [ 6,  7]]],\n"
        "\n"
        "\n"
        "        [[[ 8,  9],\n"
        "          [10, 11]],\n"
        "\n"
        "         [[12, 13],\n"
        "          [14, 15]]]])",
        id="four_dims",
    ),
    pytest.param(
        np.linspace(0.0, 1.0, 30, dtype=np.float32),
        {},
        "tensor([0.0000, 0.0345, 0.0690, 0.1034, 0.1379, 0.1724, 0.2069, 0.2414, 0.2759,\n"
        "        0.3103, 0.3448, 0.3793, 0.4138, 0.4483, 0.4828, 0.5172, 0.5517, 0.5862,\n"
        "        0.6207, 0.6552, 0.6897, 0.7241, 0.7586, 0.7931, 0.8276, 0.8621, 0.8966,\n"
        "        0.9310, 0.9655, 1.0000])",
        id="wrap_1d",
    ),
    pytest.param(
        np.arange(40, dtype=np.float32).reshape(2, 20) * 1.5,
        {},
        "tensor([[ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,\n"
        "         12.0000, 13.5000, 15.0000, 16.5000, 18.0000, 19.5000, 21.0000, 22.5000,\n"
        "         24.0000, 25.5000, 27.0000, 28.5000],\n"
        "        [30.0000, 31.5000, 33.0000, 34.5000, 36.0000, 37.5000, 39.0000, 40.5000,\n"
        "         42.0000, 43.5000, 45.0000, 46.5000, 48.0000, 49.5000, 51.0000, 52.5000,\n"
        "         54.0000, 55.5000, 57.0000, 58.5000]])",
        id="wrap_2d",
    ),
    pytest.param(
        np.arange(100, 140),
        {},
        "tensor([100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113,\n"
        "        114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127,\n"
        "        128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139])",
        id="wrap_int",
    ),
    pytest.param(
        np.arange(10.0) / 3.0,
        {"requires_grad": True},
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n"
        "        3.0000], dtype=tapegrad.float64, requires_grad=True)",
        id="wrap_suffix",
    ),
    pytest.param(
        np.arange(9, dtype=np.float32) / 3,
        {"grad_fn_name": "DivBackward0"},
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667],\n"
        "       grad_fn=<DivBackward0>)",
        id="wrap_suffix_grad_fn",
    ),
    pytest.param(
        np.arange(6.0) / 3,
        {},
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667], dtype=tapegrad.float64)",
        id="dtype_suffix_fits_at_torch_length",
    ),
    pytest.param(
        np.arange(6.0) / 3,
        {"requires_grad": True},
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667], dtype=tapegrad.float64,\n"
        "       requires_grad=True)",
        id="dtype_suffix_then_wrap",
    ),
    pytest.param(
        np.arange(5.0) / 3,
        {"requires_grad": True},
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333], dtype=tapegrad.float64,\n"
        "       requires_grad=True)",
        id="dtype_suffix_short_line",
    ),
    pytest.param(
        np.arange(2000, dtype=np.float32),
        {},
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
        "        1.9990e+03])",
        id="summary_1d",
    ),
    pytest.param(
        np.arange(2000).reshape(40, 50),
        {},
        "tensor([[   0,    1,    2,  ...,   47,   48,   49],\n"
        "        [  50,   51,   52,  ...,   97,   98,   99],\n"
        "        [ 100,  101,  102,  ...,  147,  148,  149],\n"
        "        ...,\n"
        "        [1850, 1851, 1852,  ..., 1897, 1898, 1899],\n"
        "        [1900, 1901, 1902,  ..., 1947, 1948, 1949],\n"
        "        [1950, 1951, 1952,  ..., 1997, 1998, 1999]])",
        id="summary_2d",
    ),
    pytest.param(
        np.arange(2002, dtype=np.float32).reshape(2, 1001) / 7,
        {},
        "tensor([[0.0000e+00, 1.4286e-01, 2.8571e-01,  ..., 1.4257e+02, 1.4271e+02,\n"
        "         1.4286e+02],\n"
        "        [1.4300e+02, 1.4314e+02, 1.4329e+02,  ..., 2.8557e+02, 2.8571e+02,\n"
        "         2.8586e+02]])",
        id="summary_narrow_axis",
    ),
    pytest.param(
        np.arange(1331, dtype=np.float64).reshape(11, 11, 11) - 600.5,
        {},
        "tensor([[[-600.5000, -599.5000, -598.5000,  ..., -592.5000, -591.5000,\n"
        "          -590.5000],\n"
        "         [-589.5000, -588.5000, -587.5000,  ..., -581.5000, -580.5000,\n"
        "          -579.5000],\n"
        "         [-578.5000, -577.5000, -576.5000,  ..., -570.5000, -569.5000,\n"
        "          -568.5000],\n"
        "         ...,\n"
        "         [-512.5000, -511.5000, -510.5000,  ..., -504.5000, -503.5000,\n"
        "          -502.5000],\n"
        "         [-501.5000, -500.5000, -499.5000,  ..., -493.5000, -492.5000,\n"
        "          -491.5000],\n"
        "         [-490.5000, -489.5000, -488.5000,  ..., -482.5000, -481.5000,\n"
        "          -480.5000]],\n"
        "\n"
        "        [[-479.5000, -478.5000, -477.5000,  ..., -471.5000, -470.5000,\n"
        "          -469.5000],\n"
        "         [-468.5000, -467.5000, -466.5000,  ..., -460.5000, -459.5000,\n"
        "          -458.5000],\n"
        "         [-457.5000, -456.5000, -455.5000,  ..., -449.5000, -448.5000,\n"
        "          -447.5000],\n"
        "         ...,\n"
        "         [-391.5000, -390.5000, -389.5000,  ..., -383.5000, -382.5000,\n"
        "          -381.5000],\n"
        "         [-380.5000, -379.5000, -378.5000,  ..., -372.5000, -371.5000,\n"
        "          -370.5000],\n"
        "         [-369.5000, -368.5000, -367.5000,  ..., -361.5000, -360.5000,\n"
        "          -359.5000]],\n"
        "\n"
        "        [[-358.5000, -357.5000, -356.5000,  ..., -350.5000, -349.5000,\n"
        "          -348.5000],\n"
        "         [-347.5000, -346.5000, -345.5000,  ..., -339.5000, -338.5000,\n"
        "          -337.5000],\n"
        "         [-336.5000, -335.5000, -334.5000,  ..., -328.5000, -327.5000,\n"
        "          -326.5000],\n"
        "         ...,\n"
        "         [-270.5000, -269.5000, -268.5000,  ..., -262.5000, -261.5000,\n"
        "          -260.5000],\n"
        "         [-259.5000, -258.5000, -257.5000,  ..., -251.5000, -250.5000,\n"
        "          -249.5000],\n"
        "         [-248.5000, -247.5000, -246.5000,  ..., -240.5000, -239.5000,\n"
        "          -238.5000]],\n"
        "\n"
        "        ...,\n"
        "\n"
        "        [[ 367.5000,  368.5000,  369.5000,  ...,  375.5000,  376.5000,\n"
        "           377.5000],\n"
        "         [ 378.5000,  379.5000,  380.5000,  ...,  386.5000,  387.5000,\n"
        "           388.5000],\n"
        "         [ 389.5000,  390.5000,  391.5000,  ...,  397.5000,  398.5000,\n"
        "           399.5000],\n"
        "         ...,\n"
        "         [ 455.5000,  456.5000,  457.5000,  ...,  463.5000,  464.5000,\n"
        "           465.5000],\n"
        "         [ 466.5000,  467.5000,  468.5000,  ...,  474.5000,  475.5000,\n"
        "           476.5000],\n"
        "         [ 477.5000,  478.5000,  479.5000,  ...,  485.5000,  486.5000,\n"
        "           487.5000]],\n"
        "\n"
        "        [[ 488.5000,  489.5000,  490.5000,  ...,  496.5000,  497.5000,\n"
        "           498.5000],\n"
        "         [ 499.5000,  500.5000,  501.5000,  ...,  507.5000,  508.5000,\n"
        "           509.5000],\n"
        "         [ 510.5000,  511.5000,  512.5000,  ...,  518.5000,  519.5000,\n"
        "           520.5000],\n"
        "         ...,\n"
        "         [ 576.5000,  577.5000,  578.5000,  ...,  584.5000,  585.5000,\n"
        "           586.5000],\n"
        "         [ 587.5000,  588.5000,  589.5000,  ...,  595.5000,  596.5000,\n"
        "           597.5000],\n"
        "         [ 598.5000,  599.5000,  600.5000,  ...,  606.5000,  607.5000,\n"
        "           608.5000]],\n"
        "\n"
        "        [[ 609.5000,  610.5000,  611.5000,  ...,  617.5000,  618.5000,\n"
        "           619.5000],\n"
        "         [ 620.5000,  621.5000,  622.5000,  ...,  628.5000,  629.5000,\n"
        "           630.5000],\n"
        "         [ 631.5000,  632.5000,  633.5000,  ...,  639.5000,  640.5000,\n"
        "           641.5000],\n"
        "         ...,\n"
        "         [ 697.5000,  698.5000,  699.5000,  ...,  705.5000,  706.5000,\n"
        "           707.5000],\n"
        "         [ 708.5000,  709.5000,  710.5000,  ...,  716.5000,  717.5000,\n"
        "           718.5000],\n"
        "         [ 719.5000,  720.5000,  721.5000,  ...,  727.5000,  728.5000,\n"
        "           729.5000]]], dtype=tapegrad.float64)",
        id="summary_3d",
    ),
    pytest.param(
        (np.arange(1200) * (1 + 0.5j)).astype(np.complex64),
        {},
        "tensor([0.0000e+00+0.0000e+00j, 1.0000e+00+5.0000e-01j, 2.0000e+00+1.0000e+00j,\n"
        "         ..., 1.1970e+03+5.9850e+02j, 1.1980e+03+5.9900e+02j,\n"
        "        1.1990e+03+5.9950e+02j])",
        id="summary_complex",
    ),
    pytest.param(
        np.arange(1000, dtype=np.int32),
        {},
        "tensor([  0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,\n"
        "         14,  15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,\n"
        "         28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,  41,\n"
        "         42,  43,  44,  45,  46,  47,  48,  49,  50,  51,  52,  53,  54,  55,\n"
        "         56,  57,  58,  59,  60,  61,  62,  63,  64,  65,  66,  67,  68,  69,\n"
        "         70,  71,  72,  73,  74,  75,  76,  77,  78,  79,  80,  81,  82,  83,\n"
        "         84,  85,  86,  87,  88,  89,  90,  91,  92,  93,  94,  95,  96,  97,\n"
        "         98,  99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,\n"
        "        112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125,\n"
        "        126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139,\n"
        "        140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153,\n"
        "        154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 166, 167,\n"
        "        168, 169, 170, 171, 172, 173, 174, 175, 176, 177, 178, 179, 180, 181,\n"
        "        182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195,\n"
        "        196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209,\n"
        "        210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223,\n"
        "        224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237,\n"
        "        238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251,\n"
        "        252, 253, 254, 255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 265,\n"
        "        266, 267, 268, 269, 270, 271, 272, 273, 274, 275, 276, 277, 278, 279,\n"
        "        280, 281, 282, 283, 284, 285, 286, 287, 288, 289, 290, 291, 292, 293,\n"
        "        294, 295, 296, 297, 298, 299, 300, 301, 302, 303, 304, 305, 306, 307,\n"
        "        308, 309, 310, 311, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321,\n"
        "        322, 323, 324, 325, 326, 327, 328, 329, 330, 331, 332, 333, 334, 335,\n"
        "        336, 337, 338, 339, 340, 341, 342, 343, 344, 345, 346, 347, 348, 349,\n"
        "        350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 360, 361, 362, 363,\n"
        "        364, 365, 366, 367, 368, 369, 370, 371, 372, 373, 374, 375, 376, 377,\n"
        "        378, 379, 380, 381, 382, 383, 384, 385, 386, 387, 388, 389, 390, 391,\n"
        "        392, 393, 394, 395, 396, 397, 398, 399, 400, 401, 402, 403, 404, 405,\n"
        "        406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 419,\n"
        "        420, 421, 422, 423, 424, 425, 426, 427, 428, 429, 430, 431, 432, 433,\n"
        "        434, 435, 436, 437, 438, 439, 440, 441, 442, 443, 444, 445, 446, 447,\n"
        "        448, 449, 450, 451, 452, 453, 454, 455, 456, 457, 458, 459, 460, 461,\n"
        "        462, 463, 464, 465, 466, 467, 468, 469, 470, 471, 472, 473, 474, 475,\n"
        "        476, 477, 478, 479, 480, 481, 482, 483, 484, 485, 486, 487, 488, 489,\n"
        "        490, 491, 492, 493, 494, 495, 496, 497, 498, 499, 500, 501, 502, 503,\n"
        "        504, 505, 506, 507, 508, 509, 510, 511, 512, 513, 514, 515, 516, 517,\n"
        "        518, 519, 520, 521, 522, 523, 524, 525, 526, 527, 528, 529, 530, 531,\n"
        "        532, 533, 534, 535, 536, 537, 538, 539, 540, 541, 542, 543, 544, 545,\n"
        "        546, 547, 548, 549, 550, 551, 552, 553, 554, 555, 556, 557, 558, 559,\n"
        "        560, 561, 562, 563, 564, 565, 566, 567, 568, 569, 570, 571, 572, 573,\n"
        "        574, 575, 576, 577, 578, 579, 580, 581, 582, 583, 584, 585, 586, 587,\n"
        "        588, 589, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 600, 601,\n"
        "        602, 603, 604, 605, 606, 607, 608, 609, 610, 611, 612, 613, 614, 615,\n"
        "        616, 617, 618, 619, 620, 621, 622, 623, 624, 625, 626, 627, 628, 629,\n"
        "        630, 631, 632, 633, 634, 635, 636, 637, 638, 639, 640, 641, 642, 643,\n"
        "        644, 645, 646, 647, 648, 649, 650, 651, 652, 653, 654, 655, 656, 657,\n"
        "        658, 659, 660, 661, 662, 663, 664, 665, 666, 667, 668, 669, 670, 671,\n"
        "        672, 673, 674, 675, 676, 677, 678, 679, 680, 681, 682, 683, 684, 685,\n"
        "        686, 687, 688, 689, 690, 691, 692, 693, 694, 695, 696, 697, 698, 699,\n"
        "        700, 701, 702, 703, 704, 705, 706, 707, 708, 709, 710, 711, 712, 713,\n"
        "        714, 715, 716, 717, 718, 719, 720, 721, 722, 723, 724, 725, 726, 727,\n"
        "        728, 729, 730, 731, 732, 733, 734, 735, 736, 737, 738, 739, 740, 741,\n"
        "        742, 743, 744, 745, 746, 747, 748, 749, 750, 751, 752, 753, 754, 755,\n"
        "        756, 757, 758, 759, 760, 761, 762, 763, 764, 765, 766, 767, 768, 769,\n"
        "        770, 771, 772, 773, 774, 775, 776, 777, 778, 779, 780, 781, 782, 783,\n"
        "        784, 785, 786, 787, 788, 789, 790, 791, 792, 793, 794, 795, 796, 797,\n"
        "        798, 799, 800, 801, 802, 803, 804, 805, 806, 807, 808, 809, 810, 811,\n"
        "        812, 813, 814, 815, 816, 817, 818, 819, 820, 821, 822, 823, 824, 825,\n"
        "        826, 827, 828, 829, 830, 831, 832, 833, 834, 835, 836, 837, 838, 839,\n"
        "        840, 841, 842, 843, 844, 845, 846, 847, 848, 849, 850, 851, 852, 853,\n"
        "        854, 855, 856, 857, 858, 859, 860, 861, 862, 863, 864, 865, 866, 867,\n"
        "        868, 869, 870, 871, 872, 873, 874, 875, 876, 877, 878, 879, 880, 881,\n"
        "        882, 883, 884, 885, 886, 887, 888, 889, 890, 891, 892, 893, 894, 895,\n"
        "        896, 897, 898, 899, 900, 901, 902, 903, 904, 905, 906, 907, 908, 909,\n"
        "        910, 911, 912, 913, 914, 915, 916, 917, 918, 919, 920, 921, 922, 923,\n"
        "        924, 925, 926, 927, 928, 929, 930, 931, 932, 933, 934, 935, 936, 937,\n"
        "        938, 939, 940, 941, 942, 943, 944, 945, 946, 947, 948, 949, 950, 951,\n"
        "        952, 953, 954, 955, 956, 957, 958, 959, 960, 961, 962, 963, 964, 965,\n"
        "        966, 967, 968, 969, 970, 971, 972, 973, 974, 975, 976, 977, 978, 979,\n"
        "        980, 981, 982, 983, 984, 985, 986, 987, 988, 989, 990, 991, 992, 993,\n"
        "        994, 995, 996, 997, 998, 999], dtype=tapegrad.int32)",
        id="threshold_not_reached",
    ),
    pytest.param(
        (np.arange(1001) % 100).astype(np.int8),
        {},
        "tensor([ 0,  1,  2,  ..., 98, 99,  0], dtype=tapegrad.int8)",
        id="summary_int8",
    ),
]


@pytest.mark.parametrize(("array", "options", "expected"), KNOWN_TEXTS)
def test_known_text(array: np.ndarray, options: dict, expected: str) -> None:
    assert tensor_repr(array, **options) == expected


# PyTorch puts the device first among the suffixes, ahead of size and dtype.
@pytest.mark.parametrize(
    ("array", "options", "expected"),
    [
        pytest.param(
            np.array([1.0, 2.0], dtype=np.float32),
            {"device": "cuda:0"},
            "tensor([1., 2.], device='cuda:0')",
            id="device",
        ),
        pytest.param(
            np.array([1.0, 2.0]),
            {"device": "cuda:0", "requires_grad": True},
            "tensor([1., 2.], device='cuda:0', dtype=tapegrad.float64, requires_grad=True)",
            id="device_before_dtype",
        ),
        pytest.param(
            np.zeros((0, 2), dtype=np.int32),
            {"device": "cuda:1"},
            "tensor([], device='cuda:1', size=(0, 2), dtype=tapegrad.int32)",
            id="device_before_size",
        ),
        pytest.param(
            np.arange(6.0) / 3,
            {"device": "cuda:0", "grad_fn_name": "DivBackward0"},
            "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667], device='cuda:0',\n"
            "       dtype=tapegrad.float64, grad_fn=<DivBackward0>)",
            id="device_then_wrap",
        ),
    ],
)
def test_device_suffix(array: np.ndarray, options: dict, expected: str) -> None:
    assert tensor_repr(array, **options) == expected


def test_bare_cuda_device_is_shown_with_its_index() -> None:
    text = tensor_repr(np.array([1.0], dtype=np.float32), device="cuda")
    assert text == "tensor([1.], device='cuda:0')"


def test_repr_and_plain_cpu_device_agree() -> None:
    array = np.array([0.25, 4.0], dtype=np.float32)
    assert tensor_repr(array, device="cpu") == tensor_repr(array) == "tensor([0.2500, 4.0000])"


@pytest.mark.parametrize(
    "view",
    [
        pytest.param(lambda a: a.T, id="transposed"),
        pytest.param(lambda a: a[::-1, ::2], id="reversed_strided"),
        pytest.param(np.asfortranarray, id="fortran_order"),
        pytest.param(lambda a: a.astype(a.dtype.newbyteorder()), id="swapped_bytes"),
    ],
)
def test_memory_layout_does_not_change_text(view) -> None:
    base = np.arange(1.0, 61.0, dtype=np.float32).reshape(6, 10) / 7
    array = view(base)
    assert tensor_repr(array) == tensor_repr(np.ascontiguousarray(array, dtype=np.float32))


def test_numpy_scalar_prints_as_zero_dim_tensor() -> None:
    assert tensor_repr(np.float64(2.5)) == "tensor(2.5000, dtype=tapegrad.float64)"
    assert tensor_repr(np.int32(-7)) == "tensor(-7, dtype=tapegrad.int32)"


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.bool_, "tapegrad.bool"),
        (np.uint8, "tapegrad.uint8"),
        (np.int8, "tapegrad.int8"),
        (np.int16, "tapegrad.int16"),
        (np.int32, "tapegrad.int32"),
        (np.int64, "tapegrad.int64"),
        (np.float16, "tapegrad.float16"),
        (np.float32, "tapegrad.float32"),
        (np.float64, "tapegrad.float64"),
        (np.complex64, "tapegrad.complex64"),
        (np.complex128, "tapegrad.complex128"),
        ("float32", "tapegrad.float32"),
        (np.dtype(">f8"), "tapegrad.float64"),
    ],
)
def test_format_dtype(dtype, expected: str) -> None:
    assert format_dtype(dtype) == expected


@pytest.mark.parametrize("dtype", [object, np.str_, "datetime64[s]", np.longdouble])
def test_unsupported_dtype_raises(dtype) -> None:
    if np.dtype(dtype) == np.float64:
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(TypeError, match="no tensor dtype"):
        format_dtype(dtype)
    with pytest.raises(TypeError, match="no tensor dtype"):
        tensor_repr(np.zeros(2, dtype=dtype))


# ---------------------------------------------------------------------------------------------
# Array strategies
# ---------------------------------------------------------------------------------------------

FLOAT_STYLES = ["normal", "log_uniform", "integral", "small_integral", "rounded", "constant"]
SPECIAL_VALUES = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0])

shapes = st.one_of(
    st.tuples(st.integers(0, 3000)),
    st.lists(st.integers(0, 25), max_size=4).map(tuple),
    st.lists(st.integers(1, 8), min_size=3, max_size=6).map(tuple),
)


def _real_values(rng: np.random.Generator, shape: tuple, style: str) -> np.ndarray:
    """Float64 values of one magnitude profile."""
    scale = 10.0 ** int(rng.integers(-10, 11))
    if style == "normal":
        return rng.standard_normal(shape) * scale
    if style == "log_uniform":
        signs = rng.choice([-1.0, 1.0], size=shape)
        return signs * 10.0 ** rng.uniform(-14.0, 14.0, size=shape)
    if style == "integral":
        return rng.integers(-1000, 1000, size=shape) * scale
    if style == "small_integral":
        return rng.integers(-9, 10, size=shape).astype(np.float64)
    if style == "rounded":
        return np.round(rng.uniform(-100.0, 100.0, size=shape), int(rng.integers(0, 6)))
    return np.full(shape, rng.standard_normal() * scale)


def _with_specials(rng: np.random.Generator, values: np.ndarray, fraction: float) -> np.ndarray:
    """Overwrite a fraction of the values with nan, infinities and signed zeros."""
    mask = rng.random(values.shape) < fraction
    values = np.array(values, dtype=np.float64)
    values[mask] = rng.choice(SPECIAL_VALUES, size=int(mask.sum()))
    return values


@st.composite
def generated_arrays(draw, dtypes=ALL_DTYPES) -> np.ndarray:
    """Arrays of any size (summarised ones included) filled from a seeded NumPy generator."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(shapes)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype.kind == "b":
        return rng.random(shape) < draw(st.floats(0.0, 1.0))
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        if draw(st.booleans()):
            return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
        return rng.integers(max(info.min, -10), min(info.max, 10), size=shape, dtype=dtype)
    fraction = draw(st.sampled_from([0.0, 0.0, 0.05, 0.5, 1.0]))
    parts = [
        _with_specials(rng, _real_values(rng, shape, draw(st.sampled_from(FLOAT_STYLES))), fraction)
        for _ in range(2 if dtype.kind == "c" else 1)
    ]
    array = np.empty(shape, dtype=dtype)
    with np.errstate(over="ignore"):
        if dtype.kind == "c":
            array.real, array.imag = parts
        else:
            array[...] = parts[0]
    return array


drawn_arrays = hnp.arrays(
    dtype=st.sampled_from(ALL_DTYPES),
    shape=st.one_of(
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
        hnp.array_shapes(min_dims=1, max_dims=1, min_side=0, max_side=40),
    ),
)
any_arrays = st.one_of(drawn_arrays, generated_arrays())
exact_arrays = st.one_of(
    hnp.arrays(
        dtype=st.sampled_from([np.bool_] + INTEGER_DTYPES),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
    ),
    generated_arrays(dtypes=[np.bool_] + INTEGER_DTYPES),
)
real_arrays = st.one_of(
    hnp.arrays(
        dtype=st.sampled_from(FLOAT_DTYPES),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
    ),
    generated_arrays(dtypes=FLOAT_DTYPES),
)


# ---------------------------------------------------------------------------------------------
# Properties that need no PyTorch
# ---------------------------------------------------------------------------------------------


def is_summarised(array: np.ndarray) -> bool:
    """Whether the text elides the middle of some axis: only a large array's long axes."""
    return array.size > THRESHOLD and max(array.shape) > 2 * EDGE_ITEMS


def _read_back(text: str, *, exact: bool = True) -> np.ndarray:
    """Evaluate tensor text as Python, giving back the values it shows.

    With ``exact`` the values take the dtype the text names; otherwise they stay float64,
    so that the shown decimals are compared without a second rounding.
    """

    def tensor(values, dtype=None, size=None, **_ignored):
        array = np.array(values, dtype=dtype if exact else np.float64)
        return array.reshape(size) if size is not None else array

    dtypes = SimpleNamespace(**{np.dtype(d).name: np.dtype(d) for d in ALL_DTYPES})
    namespace = {"tensor": tensor, "tapegrad": dtypes, "nan": math.nan, "inf": math.inf}
    return eval(text, namespace)  # the text comes from the code under test


@given(exact_arrays)
def test_integers_and_booleans_read_back_exactly(array: np.ndarray) -> None:
    text = tensor_repr(array, requires_grad=True)
    assert ("..." in text) == is_summarised(array)
    if is_summarised(array):
        return
    values = _read_back(text)
    assert values.dtype == array.dtype
    assert values.shape == array.shape
    np.testing.assert_array_equal(values, array)


@given(real_arrays)
def test_floats_read_back_to_four_significant_places(array: np.ndarray) -> None:
    text = tensor_repr(array)
    assert ("..." in text) == is_summarised(array)
    if is_summarised(array):
        return
    original = array.astype(np.float64)
    shown = _read_back(text, exact=False)
    assert shown.shape == array.shape
    np.testing.assert_array_equal(np.isnan(shown), np.isnan(original))
    infinite = np.isinf(original)
    np.testing.assert_array_equal(shown[infinite], original[infinite])
    finite = np.isfinite(original)
    # Rounding to 5 significant digits can step past the largest double, which reads as inf.
    rounded_past_max = finite & np.isinf(shown)
    assert np.all(np.abs(original[rounded_past_max]) > 1.79765e308)
    close = finite & ~rounded_past_max
    error = np.abs(shown[close] - original[close])
    assert np.all(error <= 5.001e-5 * np.maximum(1.0, np.abs(original[close])))


@given(any_arrays)
def test_ellipsis_marks_exactly_the_long_axes_of_large_arrays(array: np.ndarray) -> None:
    text = tensor_repr(array)
    assert text.startswith("tensor(") and text.endswith(")")
    assert ("..." in text) == is_summarised(array)


# ---------------------------------------------------------------------------------------------
# Cross-checks against PyTorch
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def torch_text(tensor) -> str:
    """PyTorch's text for a tensor, with dtype names in the tapegrad namespace."""
    return repr(tensor).replace("torch.", "tapegrad.")


@pytest.mark.torch
@pytest.mark.parametrize(("array", "options", "expected"), KNOWN_TEXTS)
def test_known_text_is_pytorch_text(torch, array: np.ndarray, options: dict, expected: str) -> None:
    differentiable = array.dtype.kind in "fc"
    tensor = torch.tensor(array, requires_grad=differentiable and bool(options))
    text = torch_text(tensor)
    if "grad_fn_name" in options:
        text = torch_text(tensor * 1).replace("<MulBackward0>", f"<{options['grad_fn_name']}>")
    assert text == expected


@pytest.mark.torch
@given(any_arrays)
def test_matches_pytorch(torch, array: np.ndarray) -> None:
    assert tensor_repr(array) == torch_text(torch.tensor(array))


@pytest.mark.torch
@given(st.one_of(generated_arrays(dtypes=DIFFERENTIABLE_DTYPES), drawn_arrays))
def test_matches_pytorch_with_gradient_suffixes(torch, array: np.ndarray) -> None:
    if array.dtype.kind not in "fc":
        array = array.astype(np.float32)
    leaf = torch.tensor(array, requires_grad=True)
    assert tensor_repr(array, requires_grad=True) == torch_text(leaf)
    result = leaf * 1
    assert tensor_repr(
        result.detach().numpy(), grad_fn_name=type(result.grad_fn).__name__
    ) == torch_text(result)
