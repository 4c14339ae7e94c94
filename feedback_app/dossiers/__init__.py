"""Dossiers from the one-stop system: imports (upload, CLI, API), the staff list, apology slips for late ones."""
