import uuid

from django import template

from linli.lib.idnumbers import mask_id_number, mask_phone

register = template.Library()


@register.filter(name="mask_phone")
def mask_phone_filter(value: str) -> str:
    return mask_phone(value or "")


@register.filter(name="mask_id")
def mask_id_filter(value: str) -> str:
    return mask_id_number(value or "")


@register.simple_tag
def new_uuid() -> str:
    """A fresh uuid, e.g. for a form the page shows several times that the server records once per uuid."""
    return str(uuid.uuid4())
