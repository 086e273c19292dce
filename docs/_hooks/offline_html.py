"""MkDocs hook: keep every built page free of outside URLs that are not links.

Inline ``<svg>`` icons carry ``xmlns="http://www.w3.org/2000/svg"``. That is a namespace name,
not a request, and inside an HTML document the parser implies it, so it is removed: a
``grep -rE 'https?://' site/ --include=*.html`` then finds outside URLs only where they are
real ``<a href>`` links, which is what the offline check of the site looks for.
"""

from __future__ import annotations

import re

_XMLNS = re.compile(r'\s+xmlns(?::\w+)?="https?://www\.w3\.org/[^"]*"')


def on_post_page(output, page, config):
    return _XMLNS.sub("", output)


def on_post_template(output_content, template_name, config):
    # 404.html and the other static templates are not pages; they get the same treatment.
    return _XMLNS.sub("", output_content) if template_name.endswith(".html") else output_content
