"""The studio: a web app where expert raters judge and admins run the supervision loop.

Names load on first use: a command's ``--help`` imports none of what they need.
"""

from typing import TYPE_CHECKING

from palate.exports import lazy_exports

if TYPE_CHECKING:  # the names as they are, for type checkers
    from palate.studio.app import create_app

__all__ = [
    "create_app",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "create_app": "palate.studio.app:create_app",
    },
)
