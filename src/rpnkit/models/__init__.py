"""The model zoo: classic architectures as registered RPN configurations (kind ``"model"``).

Each model is an :class:`rpnkit.RPN` whose layers and heads are built from the catalogues; it returns
logits, round-trips through ``to_config()`` / :func:`rpnkit.build_model` and ``rk.save`` / ``rk.load``,
and is listed by ``rpnkit components model``.

* RPN 1 (:mod:`~rpnkit.models.rpn1`): ``mlp``, ``kan``, ``svm``, ``naive_bayes``, ``pgm``;
* RPN 2 (:mod:`~rpnkit.models.rpn2`): ``cnn``, ``resnet``, ``rnn``, ``regression_rnn``, ``gcn``, ``gat``,
  ``transformer`` (with the ``residual`` layer, the ``token_embedding`` head and the
  ``token_layer_norm`` processing they need).
"""

from . import rpn1, rpn2
from .rpn1 import *  # noqa: F403
from .rpn2 import *  # noqa: F403

__all__ = [*rpn1.__all__, *rpn2.__all__]
