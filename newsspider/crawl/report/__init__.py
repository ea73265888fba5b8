"""What a run reports: stat names, the health verdict, monitors, progress."""
