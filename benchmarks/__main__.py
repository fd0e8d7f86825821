"""`make bench`: every CPU benchmark in turn (each prints ratios against its own baseline)."""

import importlib
import sys

MODULES = ["benchmarks.bench_score", "benchmarks.bench_samplers", "benchmarks.bench_flow", "benchmarks.bench_flux", "benchmarks.bench_gallery", "benchmarks.bench_app",
           "benchmarks.bench_classroom", "benchmarks.bench_defaults", "benchmarks.bench_t2i"]

for name in sys.argv[1:] or MODULES:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        print(f"# {name}: not available ({exc})")
        continue
    module.main()
    print()
