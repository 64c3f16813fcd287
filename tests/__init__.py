"""The test suite: a package, so that every module imports the shared harness as
``tests.harness``."""
