"""Allow ``python -m azbackupjobs``."""

from azbackupjobs.cli import main

if __name__ == "__main__":
    main()
