from django import template

register = template.Library()


@register.filter
def zone_label(name: str) -> str:
    """America/New_York -> America/New York, as people write it."""
    return (name or "").replace("_", " ")
