"""WSGI entry point: gunicorn wsgi:app, flask --app wsgi <command>."""

from feedback_app import create_app

app = create_app()
