"""azjobs: track Azure Backup jobs of Recovery Services vaults through the ARM REST API."""

__version__ = "0.1.0"
