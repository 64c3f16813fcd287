"""What several commands share, below them: no command imports another command.

``watching``: following named jobs to their end (``watch``, ``cancel --wait``, ``demo``);
``operations``: an operation resolved to the jobs it started (``watch --operation``, ``demo``);
``fleet``: the scope and source of ``--fleet`` (``list`` and ``watch``).
"""
