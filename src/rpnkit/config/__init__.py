"""Model configs: build models from plain dicts/YAML, and read/write YAML safely."""

from .io import dump_yaml, load_yaml, read_config, write_text_atomic
from .model import build_model

__all__ = ["build_model", "load_yaml", "dump_yaml", "read_config", "write_text_atomic"]
