"""Compression functions kappa: R^m -> R^D with D usually below m.

* elementwise (D = m): identity, reciprocal, linear;
* metric reductions (D = 1): metric, max, min, sum, mean, prod, median;
* geometric patch pooling on a grid (D = C*P): cuboid, cylinder, sphere and their max/min/mean forms;
* sampling (seeded, deterministic at eval): naive_probabilistic and its seven distributions,
  combinatorial, combinatorial_probabilistic;
* fit-once (``fit(X)`` then a torch map): incremental_pca, random_projection, variance_threshold,
  feature_clustering, isomap, lle, mds, spectral_embedding, tsne;
* composite: nested (composition), extended (concatenation).
"""

from ..base import Compression
from . import basic, combinatorial, composite, fitted, geometric, manifold, metric, probabilistic
from .basic import *  # noqa: F403
from .combinatorial import *  # noqa: F403
from .composite import *  # noqa: F403
from .fitted import *  # noqa: F403
from .geometric import *  # noqa: F403
from .manifold import *  # noqa: F403
from .metric import *  # noqa: F403
from .probabilistic import *  # noqa: F403

# each family module lists its public names once, in its own __all__
__all__ = [
    "Compression",
    *basic.__all__,
    *combinatorial.__all__,
    *composite.__all__,
    *fitted.__all__,
    *geometric.__all__,
    *manifold.__all__,
    *metric.__all__,
    *probabilistic.__all__,
]
