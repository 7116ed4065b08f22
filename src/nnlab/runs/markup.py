"""A small, safe Markdown subset to HTML, for the notes that experiments write into reports.

Supported: paragraphs, `-`/`*` and `1.` lists, fenced code blocks, **bold**, *italic*, `code`
and [links](https://...). Everything else is shown as text: all HTML in a note is escaped, and a
link whose target has a scheme other than http, https or mailto (e.g. `javascript:`) is dropped,
so a note can never inject markup or script into a report. No dependency is needed for this.
"""

import html
import re

_INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\[(?P<text>[^\]]+)\]\((?P<href>[^)\s]+)\)"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|\*(?P<em>[^*\s](?:[^*]*[^*\s])?)\*"
)
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}\d{1,9}[.)]\s+(.*)$")
_SAFE_SCHEMES = ("http:", "https:", "mailto:")


def inline_html(text: str) -> str:
    """One line or paragraph of Markdown as HTML: code, links, bold and italic; the rest escaped.

    Parameters
    ----------
    text : str
        Markdown text without block structure.

    Returns
    -------
    str
        Safe HTML.
    """
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos : m.start()]))
        if m["code"] is not None:
            out.append(f"<code>{html.escape(m['code'])}</code>")
        elif m["href"] is not None:
            out.append(_link(m["text"], m["href"]))
        elif m["bold"] is not None:
            out.append(f"<strong>{inline_html(m['bold'])}</strong>")
        else:
            out.append(f"<em>{inline_html(m['em'])}</em>")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _link(text: str, href: str) -> str:
    """An <a> for a relative or http(s)/mailto target; otherwise only the text."""
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*:)", href)
    if scheme and scheme[1].lower() not in _SAFE_SCHEMES:
        return inline_html(text)
    return f'<a href="{html.escape(href, quote=True)}">{inline_html(text)}</a>'


def markdown_html(text: str) -> str:
    """A note's Markdown as HTML blocks: paragraphs, lists and fenced code.

    Parameters
    ----------
    text : str
        The note.

    Returns
    -------
    str
        Safe HTML, one block per line.
    """
    blocks: list[str] = []
    para: list[str] = []
    items: list[list[str]] = []  # the open list's items, each a list of lines
    list_tag = ""
    code: list[str] | None = None  # lines of an open fenced code block

    def flush() -> None:
        nonlocal list_tag
        if para:
            blocks.append(f"<p>{inline_html(' '.join(para))}</p>")
            para.clear()
        if items:
            lis = "".join(f"<li>{inline_html(' '.join(lines))}</li>" for lines in items)
            blocks.append(f"<{list_tag}>{lis}</{list_tag}>")
            items.clear()
            list_tag = ""

    for line in text.splitlines():
        if code is not None:
            if line.strip().startswith("```"):
                blocks.append(f"<pre><code>{html.escape(chr(10).join(code))}</code></pre>")
                code = None
            else:
                code.append(line)
            continue
        if line.strip().startswith("```"):
            flush()
            code = []
            continue
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        if bullet or numbered:
            tag = "ul" if bullet else "ol"
            if para or (items and tag != list_tag):
                flush()
            list_tag = tag
            items.append([(bullet or numbered)[1]])
        elif not line.strip():
            flush()
        elif items and line[:1].isspace():  # an indented line continues the list item
            items[-1].append(line.strip())
        else:
            if items:
                flush()
            para.append(line.strip())
    if code is not None:  # an unclosed fence still shows its lines
        blocks.append(f"<pre><code>{html.escape(chr(10).join(code))}</code></pre>")
    flush()
    return "\n".join(blocks)
