"""Run rpnkit's benchmark suite (same as `rpnkit bench`): python benchmarks/run.py [--quick] [--out DIR]."""

from rpnkit.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
