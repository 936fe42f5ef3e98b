"""kappa: what the expansion and compression catalogues share (one role, two registry kinds).

An expansion and a compression are the same role in the RPN equation, a data transformation kappa:
R^m -> R^D; they differ only in the registry kind their names live in. This package holds the code
both catalogues use, so that each concern has one implementation:

* :mod:`rpnkit.kappa.naming`: the lookup order of kappa specs and the name a component writes in a
  config so that it resolves back to its own class (names such as ``identity`` exist in both kinds);
* :mod:`rpnkit.kappa.composite`: nested (composition) and extended (concatenation) transformations,
  registered once per kind by :mod:`rpnkit.expansion.composite` and :mod:`rpnkit.compression.composite`;
* :mod:`rpnkit.kappa.patches`: the grid and patch placement of the patch expansions and the geometric
  (patch pooling) compressions; the tensor maths is :mod:`rpnkit.functional.geometric`.
"""

from .composite import Composite, ExtendedComposite, NestedComposite
from .naming import KAPPA_KINDS, child_config, config_name
from .patches import PatchGeometry, centre_distances, check_cuboid, check_cylinder, check_sphere, resolve_grid

__all__ = [
    "KAPPA_KINDS",
    "config_name",
    "child_config",
    "Composite",
    "NestedComposite",
    "ExtendedComposite",
    "PatchGeometry",
    "resolve_grid",
    "centre_distances",
    "check_cuboid",
    "check_cylinder",
    "check_sphere",
]
