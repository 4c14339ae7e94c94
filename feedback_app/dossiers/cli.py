"""`flask import-dossiers FILE`: the same import as the upload page, from a shell."""

from __future__ import annotations

import click

import_dossiers_command = click.Command("import-dossiers", help="Import dossiers from a CSV or XLSX file.")
