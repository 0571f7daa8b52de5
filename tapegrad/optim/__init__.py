"""Optimisers: ``SGD``, ``Adam`` and ``AdamW``, with PyTorch's update rules and state dicts.

>>> tg.manual_seed(0)
>>> model = tg.nn.Linear(3, 1)
>>> opt = tg.optim.AdamW(model.parameters(), lr=1e-2)
>>> x, y = tg.randn(8, 3), tg.randn(8, 1)
>>> for _ in range(3):
...     opt.zero_grad()
...     loss = tg.nn.functional.mse_loss(model(x), y)
...     loss.backward()
...     opt.step()
>>> int(opt.state_dict()["state"][0]["step"])
3
"""

from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]
