"""Data interdependence functions xi (attribute and instance types).

* :mod:`.basic`: identity (eye) and the learned ``parameterized`` family (lowrank, hm, lphm, dual_lphm,
  random-matrix adaption);
* :mod:`.fixed`: constant (a given matrix), constant_c, zero, one;
* :mod:`.statistical`: KL divergence, Pearson correlation, RV coefficient, Gaussian mutual information;
* :mod:`.kernel`: linear, polynomial, tanh, cosine, distance (minkowski, manhattan, euclidean, chebyshev,
  canberra), exponential, gaussian RBF, laplacian, anisotropic RBF and hybrid kernels;
* :mod:`.topological`: chains (multi-hop, inverse, exponential), graphs (multi-hop, PageRank);
* :mod:`.bilinear`: parameterised bilinear (attention-like) scores;
* :mod:`.geometric`: the patches of a channel-major grid (cuboid, cylinder, sphere; padding = im2col
  gather, aggregation = sum into the centre);
* :mod:`.parameterized_rpn`: A is itself an RPN head (kappa, psi) on the transposed data;
* :mod:`.hybrid`: several interdependences fused into one matrix.
"""

from ..base import Interdependence
from . import basic, bilinear, fixed, geometric, hybrid, kernel, parameterized_rpn, statistical, topological
from .basic import *  # noqa: F403
from .bilinear import *  # noqa: F403
from .fixed import *  # noqa: F403
from .geometric import *  # noqa: F403
from .hybrid import *  # noqa: F403
from .kernel import *  # noqa: F403
from .parameterized_rpn import *  # noqa: F403
from .statistical import *  # noqa: F403
from .topological import *  # noqa: F403

# each family module lists its public names once, in its own __all__
__all__ = [
    "Interdependence",
    *basic.__all__,
    *bilinear.__all__,
    *fixed.__all__,
    *geometric.__all__,
    *hybrid.__all__,
    *kernel.__all__,
    *parameterized_rpn.__all__,
    *statistical.__all__,
    *topological.__all__,
]
