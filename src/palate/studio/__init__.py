"""The studio: a web app where expert raters judge and admins run the supervision loop."""

from palate.studio.app import create_app

__all__ = ["create_app"]
