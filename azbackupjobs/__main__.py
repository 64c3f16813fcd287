"""Allow ``python -m azbackupjobs``."""

from azbackupjobs.main import console, main

__all__ = ["main"]

if __name__ == "__main__":
    console()
