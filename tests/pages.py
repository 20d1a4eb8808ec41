"""Reading pages the way the tests look at them."""


def section(html: str, heading_id: str) -> str:
    """The part of a page from the section a heading labels to the end of that section."""
    start = html.index(f'aria-labelledby="{heading_id}"')
    return html[start : html.index("</section>", start)]
