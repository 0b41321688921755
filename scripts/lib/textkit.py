"""Text helpers shared by the site's scripts (`import textkit`).

A module in `scripts/lib/` is imported like any other; the scripts that
import it are run again when it changes, and only those.
"""

import re
import unicodedata


def slugify(text):
    """`Hello, World!` -> `hello-world`: ASCII letters and digits joined by `-`."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", plain.lower()))
