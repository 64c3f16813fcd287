"""Allow ``python -m azbackupjobs``."""

from azbackupjobs.fastpath import console, main

__all__ = ["main"]

if __name__ == "__main__":
    console()
