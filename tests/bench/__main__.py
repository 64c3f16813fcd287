"""``python -m tests.bench`` (from the repository root) runs the benchmarks."""

from tests.bench.run import main

if __name__ == "__main__":
    main()
