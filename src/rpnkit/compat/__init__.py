"""Migration from the reference toolkit (tinyBIG): its YAML experiments and its head/layer/model API.

* :func:`read_reference` / :func:`convert`: a reference ``configurations:`` YAML becomes an rpnkit
  experiment (``rpnkit train reference.yaml`` detects the schema; ``rpnkit convert`` writes the
  rpnkit YAML with a comment wherever the semantics differ). Classes are mapped by the explicit
  tables of :mod:`rpnkit.compat.tables`; nothing is imported by dotted path.
* :class:`rpn_head`, :class:`rpn_layer`, :class:`rpn`: the reference's API surface (``m, n,
  channel_num, data_transformation, parameter_fabrication, ...``; ``get_m``, ``get_n``,
  ``get_width``, ``save_ckpt``/``load_ckpt``, ``to_config``) as thin wrappers over rpnkit's
  :class:`~rpnkit.Head`, :class:`~rpnkit.Layer` and :class:`~rpnkit.RPN`, with rpnkit's maths.

See docs/migration.md for the side-by-side examples and every behavioural difference.
"""

from __future__ import annotations

from . import tables
from .adapters import rpn, rpn_head, rpn_layer
from .reader import Conversion, convert, experiment_or_source, is_reference, read_reference, to_yaml

__all__ = [
    "Conversion",
    "convert",
    "experiment_or_source",
    "is_reference",
    "read_reference",
    "to_yaml",
    "tables",
    "rpn_head",
    "rpn_layer",
    "rpn",
]
