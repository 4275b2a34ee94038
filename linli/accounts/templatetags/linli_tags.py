from django import template

from linli.lib.idnumbers import mask_id_number, mask_phone

register = template.Library()


@register.filter(name="mask_phone")
def mask_phone_filter(value: str) -> str:
    return mask_phone(value or "")


@register.filter(name="mask_id")
def mask_id_filter(value: str) -> str:
    return mask_id_number(value or "")
