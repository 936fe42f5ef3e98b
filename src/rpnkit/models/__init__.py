"""The model zoo: classic architectures as registered RPN configurations (kind ``"model"``).

Each model is an :class:`rpnkit.RPN` whose layers and heads are built from the catalogues; it returns
logits, round-trips through ``to_config()`` / :func:`rpnkit.build_model` and ``rk.save`` / ``rk.load``,
and is listed by ``rpnkit components model``.
"""

__all__: list[str] = []
